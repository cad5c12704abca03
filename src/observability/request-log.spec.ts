import pino from 'pino';
import { RequestLog } from './request-log.js';

/** A destination that keeps what is written to it. */
function sink() {
  const written: string[] = [];
  return { written, destination: { write: (s: string) => void written.push(s) } };
}

describe('RequestLog', () => {
  it('writes the line pino writes for the same fields, as one JSON line', () => {
    const ours = sink();
    const theirs = sink();
    const fields = { reqId: 'r-1', method: 'GET', route: '/auth/session', path: '/auth/session', status: 200, ms: 1.3, ip: '10.0.0.7' };
    new RequestLog(ours.destination, () => true).write(fields);
    pino({ base: undefined, timestamp: () => ',"time":"T"' }, theirs.destination).info(fields, 'request');
    expect(ours.written).toHaveLength(1);
    expect(ours.written[0].endsWith('\n')).toBe(true);
    const line = JSON.parse(ours.written[0]) as Record<string, unknown>;
    expect(Object.keys(line)).toEqual(Object.keys(JSON.parse(theirs.written[0]) as object));
    expect({ ...line, time: 'T' }).toEqual(JSON.parse(theirs.written[0]));
    expect(new Date(line.time as string).toISOString()).toBe(line.time);
  });

  it('keeps the line valid JSON whatever the client put in the path, the request id or the address', () => {
    const { written, destination } = sink();
    const hostile = '/x?a="},"level":60,"msg":"forged\n\u2028\ud800\\';
    new RequestLog(destination, () => true).write({ reqId: 'a"b', method: 'GET', route: 'unmatched', path: hostile, status: 404, ip: '"::1' });
    expect(written).toHaveLength(1);
    expect(written[0].indexOf('\n')).toBe(written[0].length - 1); // one line: the newline in the path is escaped
    const line = JSON.parse(written[0]) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, reqId: 'a"b', path: hostile, ip: '"::1', status: 404, msg: 'request' });
  });

  it('leaves out what is not known, and writes nothing when the level is above info', () => {
    const { written, destination } = sink();
    let enabled = true;
    const log = new RequestLog(destination, () => enabled);
    log.write({ reqId: 'r', method: 'GET', route: 'unmatched', path: '/%', status: 400, ms: undefined, ip: undefined });
    expect(JSON.parse(written[0])).not.toHaveProperty('ms');
    expect(JSON.parse(written[0])).not.toHaveProperty('ip');
    enabled = false;
    log.write({ reqId: 'r', method: 'GET', route: 'unmatched', path: '/', status: 400 });
    expect(written).toHaveLength(1);
  });

  it('says how an unfinished answer ended (outcome, bytes) and leaves the status out when none went out, as pino would', () => {
    const ours = sink();
    const theirs = sink();
    const fields = { reqId: 'r-2', method: 'POST', route: '/mcp', path: '/mcp', ms: 250.5, ip: '10.0.0.7', outcome: 'client_closed' as const, bytes: 0 };
    new RequestLog(ours.destination, () => true).write(fields);
    pino({ base: undefined, timestamp: () => ',"time":"T"' }, theirs.destination).info(fields, 'request');
    const line = JSON.parse(ours.written[0]) as Record<string, unknown>;
    expect({ ...line, time: 'T' }).toEqual(JSON.parse(theirs.written[0]));
    expect(Object.keys(line)).toEqual(Object.keys(JSON.parse(theirs.written[0]) as object));
    expect(line).not.toHaveProperty('status');
  });
});
