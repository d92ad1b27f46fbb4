// Owns making ed25519 SSH key pairs that every SSH implementation reads. ssh2's generateKeyPairSync strips
// leading zero bytes from the public key, so about 1 pair in 256 cannot be parsed back (mscdex/ssh2#1390,
// #1513): a lab whose client key is such a pair cannot log in to its routers. Must not write files.
import ssh2 from 'ssh2';

const { utils } = ssh2;

/** An ed25519 pair (OpenSSH private key, `ssh-ed25519 AAAA… comment` public line) that parses back. */
export function ed25519KeyPair(comment?: string): { private: string; public: string } {
  // Each attempt fails with p = 1/256; 16 attempts leave 2^-128.
  for (let i = 0; i < 16; i++) {
    const pair = utils.generateKeyPairSync('ed25519', comment === undefined ? undefined : { comment });
    if (!(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error)) return pair;
  }
  throw new Error('cannot generate an ed25519 key pair that parses back (16 attempts)');
}
