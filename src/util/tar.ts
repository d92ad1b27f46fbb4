// Owns building small ustar archives in memory (files copied into containers with putArchive).
// Only regular files and directories; paths up to 100 chars (longer ones get a clear error).

function header(name: string, size: number, mode: number, type: '0' | '5'): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`cannot archive ${name} (path longer than 100 bytes)`);
  const h = Buffer.alloc(512, 0);
  const put = (s: string, off: number, len: number): void => { h.write(s, off, len, 'utf8'); };
  const oct = (n: number, len: number): string => n.toString(8).padStart(len - 1, '0') + '\0';
  put(name, 0, 100);
  put(oct(mode, 8), 100, 8);
  put(oct(0, 8), 108, 8);
  put(oct(0, 8), 116, 8);
  put(oct(size, 12), 124, 12);
  put(oct(Math.floor(Date.now() / 1000), 12), 136, 12);
  put('        ', 148, 8);
  put(type, 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

export interface TarEntry { path: string; content: Buffer; mode?: number; }

/** An archive holding each file at its path (relative, no leading '/'), with its parent directories. */
export function tarFiles(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  const dirs = new Set<string>();
  for (const e of entries) {
    const segs = e.path.replace(/^\/+/, '').split('/');
    for (let i = 1; i < segs.length; i++) {
      const d = segs.slice(0, i).join('/') + '/';
      if (!dirs.has(d)) { dirs.add(d); parts.push(header(d, 0, 0o755, '5')); }
    }
    parts.push(header(segs.join('/'), e.content.length, e.mode ?? 0o644, '0'), e.content);
    const pad = (512 - (e.content.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(1024, 0));
  return Buffer.concat(parts);
}
