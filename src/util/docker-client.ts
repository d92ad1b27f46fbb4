// Owns constructing dockerode clients. docker-modem merges DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH,
// DOCKER_PATH_PREFIX and DOCKER_CLIENT_TIMEOUT from the environment *under* the options it is given, and
// a DOCKER_HOST host wins over a given socketPath: with DOCKER_HOST=tcp://… set (a user's remote engine, or
// the stand-in second machine's env), a client meant for tsunagari's own dockerd would talk to that engine.
// Every client is made from exactly the options given here, whatever the environment says.
import Docker from 'dockerode';

const DOCKER_ENV = ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_PATH_PREFIX', 'DOCKER_CLIENT_TIMEOUT'] as const;

/** A dockerode client from these options only (the environment's DOCKER_* variables are not consulted). */
export function dockerClient(o: Docker.DockerOptions): Docker {
  const saved = DOCKER_ENV.map((k) => [k, process.env[k]] as const);
  for (const k of DOCKER_ENV) delete process.env[k];
  try {
    return new Docker(o);
  } finally {
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
  }
}

/** A client of the engine at a unix socket (tsunagari's own dockerd, or the system's). */
export function localDocker(socketPath: string, timeoutMs?: number): Docker {
  return dockerClient({ socketPath, ...(timeoutMs !== undefined ? { timeout: timeoutMs } : {}) });
}
