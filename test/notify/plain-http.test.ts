// Pure: which webhook targets send a chat token or a signed body over plain http:// to another machine.
import { describe, expect, it } from 'vitest';
import { isLoopbackHost, plainHttpWarning } from '../../src/notify/plain-http.ts';

describe('isLoopbackHost', () => {
  it.each(['localhost', 'hooks.localhost', '127.0.0.1', '127.5.6.7', '[::1]', '::1', '[::ffff:127.0.0.1]'])('%s is loopback', (h) => {
    expect(isLoopbackHost(h)).toBe(true);
  });
  it.each(['chat.cod67.example', '10.0.0.5', '128.0.0.1', '127.0.0.1.nip.io', '[::2]', 'localhost.example'])('%s is not', (h) => {
    expect(isLoopbackHost(h)).toBe(false);
  });
});

describe('plainHttpWarning', () => {
  const setting = 'controller.notifyUrl (INFRASEC_NOTIFY_URL)';

  it.each(['slack', 'mattermost', 'rocket', 'msteams'] as const)('warns for a %s webhook over http:// to another host, naming the setting and the origin, never the path', (format) => {
    const w = plainHttpWarning({ url: 'http://chat.cod67.example:8065/hooks/T0K3N', format, signed: false, setting });
    expect(w).toBe(`controller.notifyUrl (INFRASEC_NOTIFY_URL) is plain http:// to http://chat.cod67.example:8065: the ${format} webhook's token (in the URL path) and every notification cross the network unencrypted; use the receiver's https:// URL`);
    expect(w).not.toContain('T0K3N');
  });

  it('warns for a signed generic webhook over http:// to another host', () => {
    expect(plainHttpWarning({ url: 'http://10.0.0.5/hook', format: 'generic', signed: true, setting })).toContain('every signed notification crosses the network unencrypted');
  });

  it.each([
    ['https://chat.cod67.example/hooks/T0K3N', 'mattermost', false],
    ['http://127.0.0.1:8065/hooks/T0K3N', 'mattermost', true],
    ['http://localhost/hooks/T0K3N', 'slack', false],
    ['http://[::1]:9000/hook', 'generic', true],
    ['http://10.0.0.5/hook', 'generic', false],
  ] as const)('says nothing for %s (%s, signed: %s)', (url, format, signed) => {
    expect(plainHttpWarning({ url, format, signed, setting })).toBeUndefined();
  });
});
