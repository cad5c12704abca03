import { ConfigError, parseConfig } from './config.schema.js';

const valid = { GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret', S3_BUCKET: 'bucket', JWT_SECRET: 'x'.repeat(32) };
const G = 'https://www.googleapis.com/auth/';

describe('GOOGLE_SCOPES', () => {
  it('defaults to least privilege: the sign-in scopes and read-only Gmail, Drive and Calendar', () => {
    expect(parseConfig(valid).google.scopes).toEqual(['openid', 'email', 'profile', `${G}gmail.readonly`, `${G}drive.readonly`, `${G}calendar.readonly`]);
  });

  it('expands the short names the README uses into the scope URLs Google accepts', () => {
    const { scopes } = parseConfig({ ...valid, GOOGLE_SCOPES: 'gmail.modify gmail.send drive tasks contacts.readonly mail.google.com' }).google;
    expect(scopes).toEqual(['openid', 'email', 'profile', `${G}gmail.modify`, `${G}gmail.send`, `${G}drive`, `${G}tasks`, `${G}contacts.readonly`, 'https://mail.google.com/']);
  });

  it('keeps full URLs as written, mixed with short names, without duplicates', () => {
    const { scopes } = parseConfig({ ...valid, GOOGLE_SCOPES: `${G}gmail.send gmail.send,calendar` }).google;
    expect(scopes).toEqual(['openid', 'email', 'profile', `${G}gmail.send`, `${G}calendar`]);
  });

  it.each([['gmail.sned'], [`${G}gmail.everything`], ['https://evil.example/scope'], ['drive.readonly gmail']])('refuses %s at boot, naming the bad one', (value) => {
    const bad = value.split(' ').pop() as string;
    expect(() => parseConfig({ ...valid, GOOGLE_SCOPES: value })).toThrow(ConfigError);
    expect(() => parseConfig({ ...valid, GOOGLE_SCOPES: value })).toThrow(`GOOGLE_SCOPES has unknown scope "${bad}"`);
  });
});
