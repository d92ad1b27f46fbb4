// dockerode clients ignore the environment's DOCKER_* variables (src/util/docker-client.ts): a user's
// DOCKER_HOST=tcp://… with TLS must not redirect what is meant for tsunagari's own dockerd. No network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dockerClient, localDocker } from '../../../src/util/docker-client.js';

const ENV = { DOCKER_HOST: 'tcp://192.0.2.1:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/nonexistent/certs', DOCKER_CLIENT_TIMEOUT: '7' };

function withEnv<T>(fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(ENV).map((k) => [k, process.env[k]]));
  Object.assign(process.env, ENV);
  try { return fn(); } finally {
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  }
}

type Modem = { socketPath?: string; host?: string; protocol?: string; ca?: unknown; timeout?: number };

test('a local client talks to the socket it was given, whatever DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH say', () => {
  const m = withEnv(() => {
    const d = localDocker('/var/lib/tsunagari/run/docker.sock', 1000);
    assert.deepEqual({ ...ENV }, Object.fromEntries(Object.keys(ENV).map((k) => [k, process.env[k]])), 'the environment is left as it was');
    return d.modem as unknown as Modem;
  });
  assert.equal(m.socketPath, '/var/lib/tsunagari/run/docker.sock');
  assert.equal(m.host, undefined);
  assert.equal(m.protocol, 'http');
  assert.equal(m.ca, undefined);
  assert.equal(m.timeout, 1000);
});

test('a remote client has exactly the given host, protocol and certificates', () => {
  const m = withEnv(() => dockerClient({ host: '198.18.253.2', port: 2376, protocol: 'https', ca: 'CA', cert: 'C', key: 'K' }).modem as unknown as Modem);
  assert.deepEqual([m.host, m.protocol, m.ca, m.timeout], ['198.18.253.2', 'https', 'CA', undefined]);
});
