import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { MAX_BUFFERED_LINES, S3AuditSink } from '../../src/storage/s3-audit-sink.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { signIn, startService, startWorld, World } from '../support/harness.js';

/** All audit events written to S3, in every batch object. */
async function auditEvents(world: World): Promise<Array<Record<string, unknown>>> {
  const listed = await world.admin.send(new ListObjectsV2Command({ Bucket: world.bucket, Prefix: 'audit/' }));
  const events: Array<Record<string, unknown>> = [];
  for (const { Key } of listed.Contents ?? []) {
    const body = await (await world.admin.send(new GetObjectCommand({ Bucket: world.bucket, Key }))).Body?.transformToString();
    for (const line of (body ?? '').trim().split('\n')) if (line) events.push(JSON.parse(line) as Record<string, unknown>);
  }
  return events;
}

/**
 * The S3 audit trail (AUDIT_S3=true) when S3 misbehaves: a batch whose write was applied but whose answer was lost is
 * in S3 once, not twice; a batch whose write failed is written later, not dropped.
 */
describe('Audit trail in S3 under faults', () => {
  let world: World;
  let s3: FaultProxy;

  beforeEach(async () => {
    world = await startWorld();
    s3 = await FaultProxy.start(world.s3.endpoint);
  });
  afterEach(async () => {
    await s3?.stop();
    await world?.close();
  });

  it('writes a batch whose answer was lost exactly once', async () => {
    const service = await startService(world, { AUDIT_S3: 'true', S3_ENDPOINT: s3.url, S3_TIMEOUT_MS: '1500' });
    await signIn(service, world, 'lost-answer@example.com');
    s3.inject({ method: 'PUT', path: /\/audit\//, fault: 'drop-answer' });
    await service.app.get(S3AuditSink).flush(); // the write lands, its answer is dropped
    await service.close(); // flushes again: whatever the first flush concluded, the batch must not be written twice
    expect(s3.seen('PUT', /\/audit\//).some((r) => r.fault === 'drop-answer' && r.forwarded)).toBe(true);
    const signIns = (await auditEvents(world)).filter((e) => e.event === 'sign_in' && e.user === 'lost-answer@example.com');
    expect(signIns).toHaveLength(1);
  });

  it('keeps a batch whose write failed and writes it at the next flush', async () => {
    const service = await startService(world, { AUDIT_S3: 'true', S3_ENDPOINT: s3.url, S3_TIMEOUT_MS: '1500' });
    await signIn(service, world, 'kept@example.com');
    // Every attempt of the next write is refused before it reaches S3 (the SDK retries once).
    const refused = s3.inject({ method: 'PUT', path: /\/audit\//, fault: 'reset', times: 2 });
    await service.app.get(S3AuditSink).flush();
    expect(await auditEvents(world)).toEqual([]);
    refused.remove();
    await service.close(); // the pending batch, under its original key, then anything buffered since
    const signIns = (await auditEvents(world)).filter((e) => e.event === 'sign_in' && e.user === 'kept@example.com');
    expect(signIns).toHaveLength(1);
  });

  it('keeps a failed batch when a slow flush of an earlier batch overlaps it (a flush every 5 s, S3 answering in up to S3_TIMEOUT_MS)', async () => {
    const service = await startService(world, { AUDIT_S3: 'true', S3_ENDPOINT: s3.url, S3_TIMEOUT_MS: '3000' });
    const sink = service.app.get(S3AuditSink);
    sink.write({ event: 'overlap_first', user: 'first@example.com' });
    s3.inject({ method: 'PUT', path: /\/audit\//, fault: 'latency', ms: 0 }); // the first flush: written at once
    const late = s3.inject({ method: 'PUT', path: /\/audit\//, fault: 'latency', ms: 1000 }); // a second flush of the same batch: answered late
    const first = sink.flush();
    const second = sink.flush();
    await first;
    late.remove(); // taken by the second flush's write if there is one; the next batch's write must not be delayed by it
    sink.write({ event: 'overlap_next', user: 'next@example.com' });
    s3.inject({ method: 'PUT', path: /\/audit\//, fault: 'reset', times: 2 }); // the next batch fails (the SDK retries once)
    await sink.flush();
    await second;
    expect(s3.seen('PUT', /\/audit\//).filter((r) => r.fault === 'reset')).toHaveLength(2);
    await service.close(); // writes what is still pending
    const events = (await auditEvents(world)).map((e) => e.event);
    expect(events.filter((e) => e === 'overlap_first')).toHaveLength(1);
    expect(events.filter((e) => e === 'overlap_next')).toHaveLength(1);
  });

  it('keeps at most MAX_BUFFERED_LINES events while S3 does not take them, and the trail says how many are missing', async () => {
    const service = await startService(world, { AUDIT_S3: 'true', S3_ENDPOINT: s3.url, S3_TIMEOUT_MS: '1500' });
    const sink = service.app.get(S3AuditSink);
    const refused = s3.inject({ method: 'PUT', path: /\/audit\//, fault: 'reset', times: Infinity });
    const sent = MAX_BUFFERED_LINES + 1000;
    for (let i = 0; i < sent; i++) sink.write({ audit: true, event: 'security_violation', n: i });
    await sink.flush();
    refused.remove();
    await service.close(); // the pending batch, then the rest
    const events = await auditEvents(world);
    const kept = events.filter((e) => e.event === 'security_violation').length;
    const marker = events.find((e) => e.event === 'audit_dropped');
    expect(kept).toBeLessThanOrEqual(MAX_BUFFERED_LINES + 200); // the buffer, and the batch that was pending
    expect(marker).toMatchObject({ dropped: sent - kept });
  }, 60_000);
});
