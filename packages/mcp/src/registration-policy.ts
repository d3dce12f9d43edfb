import type { BlockList } from 'node:net';
import { z } from 'zod';
import { networkList, nonPublicKind, parseAddress, parseNetwork } from './address-ranges.ts';
import { registrationRefused } from './registration-error.ts';
import type { McpStdioCommand } from './server-config.ts';

/**
 * What registrations (`registry.register()`, the HTTP API, rows read back from the store) may
 * reach. The operator's own `servers` are not checked: they are the operator's word.
 */
export interface McpRegistrationPolicy {
  /**
   * Origins a registration may name: `https://mcp.example.com` (scheme, host and port exactly),
   * `https://*.tools.example.com` (any subdomain of it), or `*` (any origin). Default: none, so
   * every registration is refused until the operator allows some.
   */
  allowedOrigins?: readonly string[];
  /**
   * Non-public addresses registered servers may still reach, as CIDR ranges or single addresses
   * (`10.20.0.0/16`, `127.0.0.1`). Default: none. Private, loopback, link-local, unique-local,
   * carrier-grade NAT, unspecified (`0.0.0.0`, `::`), multicast and reserved addresses, IPv4-mapped
   * IPv6 ones included, are refused otherwise, whether the URL names them or its host resolves to
   * them, at registration and again on every connection.
   */
  allowedNetworks?: readonly string[];
  /**
   * Commands a stdio row read back from the store may spawn, each matched exactly (command, args,
   * env, cwd); what runs is the operator's entry. Default: none, so a stored stdio row (written
   * by an older version, or by anyone with database access) is never spawned. A request can
   * never register stdio, whatever this says.
   */
  allowedCommands?: readonly McpStdioCommand[];
}

/** @internal Resolves a host name to every address it has. */
export type LookupAll = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

type OriginRule =
  | { readonly kind: 'any' }
  | { readonly kind: 'exact'; readonly origin: string }
  | {
      readonly kind: 'subdomains';
      readonly protocol: string;
      readonly suffix: string;
      readonly port: string;
    };

function parseOriginRule(entry: string): OriginRule | string {
  if (entry === '*') return { kind: 'any' };
  if (!URL.canParse(entry)) return 'is not an origin (https://host[:port]), a *.domain pattern or *';
  const url = new URL(entry);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http:// or https:// origin';
  if (
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  )
    return 'must be an origin alone: no path, query, fragment or credentials';
  const wildcard = url.hostname.startsWith('*.');
  if (url.hostname.slice(wildcard ? 2 : 0).includes('*'))
    return 'may hold * only as its first label (https://*.example.com)';
  return wildcard
    ? { kind: 'subdomains', protocol: url.protocol, suffix: url.hostname.slice(1), port: url.port }
    : { kind: 'exact', origin: url.origin };
}

const commandSchema = z
  .object({
    command: z.string().min(1),
    args: z.array(z.string()).readonly().default([]),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().optional(),
  })
  .strict();

/** @internal */
export const registrationPolicySchema = z
  .object({
    allowedOrigins: z
      .array(
        z.string().superRefine((entry, context) => {
          const rule = parseOriginRule(entry);
          if (typeof rule === 'string') context.addIssue({ code: 'custom', message: rule });
        }),
      )
      .readonly()
      .default([]),
    allowedNetworks: z
      .array(
        z.string().superRefine((entry, context) => {
          try {
            parseNetwork(entry);
          } catch (error) {
            context.addIssue({ code: 'custom', message: (error as Error).message });
          }
        }),
      )
      .readonly()
      .default([]),
    allowedCommands: z.array(commandSchema).readonly().default([]),
  })
  .strict()
  .default({ allowedOrigins: [], allowedNetworks: [], allowedCommands: [] });

type ResolvedPolicy = z.output<typeof registrationPolicySchema>;
type StdioCommand = z.output<typeof commandSchema>;

/** The identity of a command: every field, keys sorted, absent env and cwd made explicit. */
const commandKey = (command: StdioCommand) =>
  JSON.stringify([
    command.command,
    command.args,
    Object.entries(command.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    command.cwd ?? null,
  ]);

/** @internal The registry's checks of everything that is not the operator's own configuration. */
export class RegistrationPolicy {
  readonly #origins: readonly OriginRule[];
  readonly #allowed: BlockList;
  readonly #commands: ReadonlyMap<string, StdioCommand>;
  readonly #lookup: LookupAll;

  constructor(policy: ResolvedPolicy, lookup: LookupAll) {
    this.#origins = policy.allowedOrigins.map((entry) => parseOriginRule(entry) as OriginRule);
    this.#allowed = networkList(policy.allowedNetworks);
    this.#commands = new Map(policy.allowedCommands.map((command) => [commandKey(command), command]));
    this.#lookup = lookup;
  }

  /** Throws `origin_not_allowed` unless `url`'s origin is allowed. */
  checkOrigin(url: string): void {
    const target = new URL(url);
    const allowed = this.#origins.some((rule) => {
      if (rule.kind === 'any') return true;
      if (rule.kind === 'exact') return rule.origin === target.origin;
      return (
        target.protocol === rule.protocol &&
        target.port === rule.port &&
        target.hostname.endsWith(rule.suffix) &&
        target.hostname.length > rule.suffix.length
      );
    });
    if (!allowed)
      throw registrationRefused(
        ['url'],
        'origin_not_allowed',
        this.#origins.length === 0
          ? 'registering servers is not enabled here: the operator allows origins with registrations.allowedOrigins'
          : `${target.origin} is not among the origins the operator allows (registrations.allowedOrigins)`,
      );
  }

  /**
   * Every address `hostname` is or resolves to, each checked: throws `address_not_allowed` when
   * one is not public and not in `allowedNetworks`, `host_unresolved` when there are none.
   */
  async resolve(hostname: string): Promise<readonly { address: string; family: number }[]> {
    const literal = parseAddress(hostname);
    let addresses: readonly { address: string; family: number }[];
    if (literal !== undefined)
      addresses = [{ address: literal.address, family: literal.family === 'ipv4' ? 4 : 6 }];
    else {
      addresses = await this.#lookup(hostname).catch(() => []);
      if (addresses.length === 0)
        throw registrationRefused(
          ['url'],
          'host_unresolved',
          `${hostname} does not resolve, so where it leads cannot be checked`,
        );
    }
    for (const { address } of addresses) this.#checkAddress(hostname, address);
    return addresses;
  }

  /** The origin check, then the address check of the URL's host. */
  async check(url: string): Promise<void> {
    this.checkOrigin(url);
    await this.resolve(new URL(url).hostname);
  }

  /** The operator's entry for exactly this command, or undefined when it is not allowed. */
  allowedCommand(command: StdioCommand): StdioCommand | undefined {
    return this.#commands.get(commandKey(command));
  }

  #checkAddress(hostname: string, address: string): void {
    const parsed = parseAddress(address);
    if (parsed !== undefined && this.#allowed.check(parsed.address, parsed.family)) return;
    const kind = nonPublicKind(address);
    if (kind === undefined) return;
    const where = parseAddress(hostname) === undefined ? `${hostname} resolves to ${address}` : address;
    throw registrationRefused(
      ['url'],
      'address_not_allowed',
      `${where}, a ${kind} address; the operator allows such addresses with registrations.allowedNetworks`,
    );
  }
}
