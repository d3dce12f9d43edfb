import { describe, expect, it } from 'vitest';
import { createMcpRegistry } from './mcp-registry.ts';
import { RegistrationPolicy, registrationPolicySchema } from './registration-policy.ts';

const publicAddress = async () => [{ address: '93.184.216.34', family: 4 }];
const policy = (options: object, lookup = publicAddress) =>
  new RegistrationPolicy(registrationPolicySchema.parse(options), lookup);
const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return (error as { details: { issues: { code: string }[] } }).details.issues[0]?.code;
  }
  return undefined;
};

describe('the registrations policy', () => {
  it('matches origins exactly (scheme, host, port), by subdomain pattern, or all with *', () => {
    const exact = policy({ allowedOrigins: ['https://mcp.example.com', 'http://tools.example.com:8080'] });
    expect(refusal(() => exact.checkOrigin('https://mcp.example.com/mcp'))).toBeUndefined();
    expect(refusal(() => exact.checkOrigin('https://mcp.example.com:443/sse'))).toBeUndefined();
    expect(refusal(() => exact.checkOrigin('http://tools.example.com:8080/mcp'))).toBeUndefined();
    for (const url of [
      'http://mcp.example.com/mcp',
      'https://mcp.example.com:8443/mcp',
      'https://evil.mcp.example.com/mcp',
      'https://mcp.example.com.evil.test/mcp',
      'http://tools.example.com/mcp',
    ])
      expect(
        refusal(() => exact.checkOrigin(url)),
        url,
      ).toBe('origin_not_allowed');

    const pattern = policy({ allowedOrigins: ['https://*.tools.example.com'] });
    expect(refusal(() => pattern.checkOrigin('https://gmail.tools.example.com/mcp'))).toBeUndefined();
    expect(refusal(() => pattern.checkOrigin('https://a.b.tools.example.com/mcp'))).toBeUndefined();
    for (const url of [
      'https://tools.example.com/mcp',
      'https://eviltools.example.com/mcp',
      'http://gmail.tools.example.com/mcp',
      'https://gmail.tools.example.com:8443/mcp',
    ])
      expect(
        refusal(() => pattern.checkOrigin(url)),
        url,
      ).toBe('origin_not_allowed');

    expect(
      refusal(() => policy({ allowedOrigins: ['*'] }).checkOrigin('http://anything.test/')),
    ).toBeUndefined();
    expect(refusal(() => policy({}).checkOrigin('https://mcp.example.com/'))).toBe('origin_not_allowed');
  });

  it('checks every address a name resolves to, and lets allowed networks through', async () => {
    const split = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '::ffff:10.0.0.7', family: 6 },
    ];
    await expect(policy({}, split).resolve('split.example.test')).rejects.toMatchObject({
      message: expect.stringMatching(
        /split\.example\.test resolves to ::ffff:10\.0\.0\.7, a private address/,
      ),
      details: { issues: [{ code: 'address_not_allowed' }] },
    });
    await expect(
      policy({ allowedNetworks: ['10.0.0.0/8'] }, split).resolve('split.example.test'),
    ).resolves.toHaveLength(2);
    await expect(policy({}, async () => []).resolve('nowhere.test')).rejects.toMatchObject({
      details: { issues: [{ code: 'host_unresolved' }] },
    });
    await expect(policy({}).resolve('93.184.216.34')).resolves.toEqual([
      { address: '93.184.216.34', family: 4 },
    ]);
  });

  it('refuses a malformed policy when the registry is created', () => {
    for (const registrations of [
      { allowedOrigins: ['https://mcp.example.com/path'] },
      { allowedOrigins: ['ftp://mcp.example.com'] },
      { allowedOrigins: ['https://mcp.*.example.com'] },
      { allowedOrigins: ['mcp.example.com'] },
      { allowedNetworks: ['10.0.0.0/33'] },
      { allowedNetworks: ['example.com'] },
      { allowedCommands: [{ command: '' }] },
      { allowedHosts: [] },
    ])
      expect(
        () => createMcpRegistry({ registrations: registrations as never }),
        JSON.stringify(registrations),
      ).toThrow(expect.objectContaining({ code: 'invalid_options' }));
  });
});
