import type { AddressInfo, Server } from 'node:net';

export class ListenError extends Error {
  readonly code = 'MFS_LISTEN';
  constructor(
    message: string,
    readonly errno?: string,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

/**
 * Listens as MooseFS's `*_LISTEN_HOST`/`*_LISTEN_PORT` keys mean it ('*' or '' = every IPv4 address:
 * MooseFS 3.0 speaks IPv4 only, and peers' addresses travel as ip:32) and
 * resolves with the bound address; a failure (port in use, no such address) rejects with the host and
 * port named, so a daemon's start-up error says which key to fix.
 */
export function listenTcp(server: Server, host: string | undefined, port: number, backlog = 511): Promise<AddressInfo> {
  const h = host === undefined || host === '*' || host === '' ? '0.0.0.0' : host;
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      reject(new ListenError(`can't listen on ${h === '0.0.0.0' ? '*' : h}:${port}: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}`, e.code));
    };
    server.once('error', onError);
    server.listen({ host: h, port, backlog }, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}
