/** "host:port", with IPv6 addresses in brackets as in URLs. */
export function hostPort(host: string | undefined, port: number | undefined): string {
  const name = host ?? '?';
  return `${name.includes(':') ? `[${name}]` : name}:${port ?? '?'}`;
}
