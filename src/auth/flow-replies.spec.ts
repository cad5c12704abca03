import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { FlowReplies } from './flow-replies.js';

const replies = (publicUrl: string) => new FlowReplies({ values: { cookieSecure: 'auto', publicUrl }, secureCookies: false } as unknown as AppConfig);
const request = (host: string | undefined, url: string) => ({ host, url }) as unknown as FastifyRequest;

describe('FlowReplies.canonicalHostUrl (where /auth/google on another host name goes first)', () => {
  it('leaves a request on PUBLIC_URL\'s host alone (host names compare case-insensitively)', () => {
    expect(replies('http://127.0.0.1:3000').canonicalHostUrl(request('127.0.0.1:3000', '/auth/google'))).toBeUndefined();
    expect(replies('https://Broker.example.com').canonicalHostUrl(request('broker.example.COM', '/auth/google'))).toBeUndefined();
  });

  it('sends another host name, another port or no Host at all to PUBLIC_URL, keeping the query', () => {
    const sut = replies('http://127.0.0.1:3000');
    expect(sut.canonicalHostUrl(request('localhost:3000', '/auth/google?login_hint=a%40b.c'))).toBe('http://127.0.0.1:3000/auth/google?login_hint=a%40b.c&host_redirected=1');
    expect(sut.canonicalHostUrl(request('127.0.0.1:3001', '/auth/google'))).toBe('http://127.0.0.1:3000/auth/google?host_redirected=1');
    expect(sut.canonicalHostUrl(request(undefined, '/auth/google'))).toBe('http://127.0.0.1:3000/auth/google?host_redirected=1');
  });

  it('keeps a path prefix of PUBLIC_URL (a service behind a proxy under /broker)', () => {
    expect(replies('https://apps.example.com/broker').canonicalHostUrl(request('10.0.0.7:3000', '/auth/google'))).toBe('https://apps.example.com/broker/auth/google?host_redirected=1');
  });

  it('redirects once only: a proxy that rewrites Host cannot turn it into a loop', () => {
    expect(replies('https://broker.example.com').canonicalHostUrl(request('pod-7:3000', '/auth/google?host_redirected=1'))).toBeUndefined();
  });
});
