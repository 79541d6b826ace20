import { BlockList, isIP } from 'node:net';
import { SimscopeError } from '@simscope/protocol';

/** Kinds of address a notification URL may not reach unless an admin allows it; any other address is public. */
const ADDRESS_CATEGORIES = [
  'loopback',
  'unspecified',
  'link-local',
  'private',
  'carrier-grade NAT',
  'multicast',
  'broadcast',
  'documentation',
  'reserved',
] as const;
export type AddressCategory = (typeof ADDRESS_CATEGORIES)[number];

// From IANA's special-purpose address registries. Categories are tried in the order above, so a range nested
// in a wider one (255.255.255.255 in 240/4, ::1 in ::/96) takes the earlier category. IPv4-mapped IPv6
// addresses (::ffff:a.b.c.d) match the IPv4 ranges: BlockList maps them.
const RANGES: Record<AddressCategory, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  unspecified: ['0.0.0.0/8', '::/128'],
  'link-local': ['169.254.0.0/16', 'fe80::/10'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', 'fec0::/10', '64:ff9b:1::/48'],
  'carrier-grade NAT': ['100.64.0.0/10'],
  multicast: ['224.0.0.0/4', 'ff00::/8'],
  broadcast: ['255.255.255.255/32'],
  documentation: ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32', '3fff::/20'],
  reserved: [
    '240.0.0.0/4',
    '192.0.0.0/24',
    '192.88.99.0/24',
    '198.18.0.0/15',
    '::/96',
    '100::/64',
    '2001::/23',
    '2002::/16',
  ],
};

const HINT = 'an admin can allow it with --webhook-allow';
const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

function familyOf(address: string): 'ipv4' | 'ipv6' {
  const family = isIP(address);
  if (family === 0) throw new Error(`'${address}' is not an IP address`);
  return family === 4 ? 'ipv4' : 'ipv6';
}

/** Adds `a.b.c.d/n`, `x::/n` or a single address to `list`; false when `entry` is none of them. */
function addRange(list: BlockList, entry: string): boolean {
  const [address = '', bits, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (bits === undefined) {
    list.addAddress(address, type);
    return true;
  }
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)) return false;
  list.addSubnet(address, Number(bits), type);
  return true;
}

const CATEGORY_LISTS = ADDRESS_CATEGORIES.map((category) => {
  const list = new BlockList();
  for (const range of RANGES[category]) addRange(list, range);
  return [category, list] as const;
});

/** The category of a literal IP address, or null when it is public; throws when `address` is not an IP. */
export function addressCategory(address: string): AddressCategory | null {
  const family = familyOf(address);
  for (const [category, list] of CATEGORY_LISTS) if (list.check(address, family)) return category;
  return null;
}

function normaliseHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

/** The host of a URL as the WHATWG parser reads it (`http://2130706433/` is 127.0.0.1), without brackets. */
export function urlHost(url: string | URL): string {
  return normaliseHost(new URL(url).hostname);
}

/**
 * Reads a comma-separated allow-list of hostnames, IP addresses and CIDR ranges, lower-cased; throws an
 * `invalid_field` error naming `what` and the entry that is none of them.
 * @example parseAllowList('127.0.0.1/32,hooks.internal,10.0.0.0/8', 'webhook allow')
 */
export function parseAllowList(text: string, what: string): string[] {
  const entries: string[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const lower = entry.toLowerCase();
    if (addRange(new BlockList(), lower)) entries.push(lower);
    else if (HOSTNAME.test(normaliseHost(lower))) entries.push(normaliseHost(lower));
    else {
      throw new SimscopeError(
        'invalid_field',
        `${what}: '${entry}' is not a hostname, an IP address or a CIDR range`,
      );
    }
  }
  return entries;
}

const described = (category: AddressCategory) =>
  `${/^[aeiou]/.test(category) ? 'an' : 'a'} ${category} address`;

/**
 * Which hosts a notification URL may reach: public addresses always, non-public ones (loopback, private,
 * link-local …) only when an admin lists their hostname or a range holding them.
 */
export class AddressPolicy {
  readonly #names = new Set<string>();
  readonly #ranges = new BlockList();

  /** `allow`: hostnames, addresses and CIDR ranges, as `parseAllowList` reads them. */
  constructor(allow: readonly string[] = []) {
    for (const entry of parseAllowList(allow.join(','), 'webhook allow')) {
      if (!addRange(this.#ranges, entry)) this.#names.add(entry);
    }
  }

  #refused(address: string): AddressCategory | null {
    const category = addressCategory(address);
    return category && !this.#ranges.check(address, familyOf(address)) ? category : null;
  }

  /**
   * Why `host` may not be reached, judged before any DNS lookup: a literal address that is not public, or a
   * `localhost` name (loopback by definition, RFC 6761); null when it may be, so far.
   */
  refuseHost(host: string): string | null {
    const name = normaliseHost(host);
    if (this.#names.has(name)) return null;
    if (isIP(name)) return this.refuseAddresses(name, [name]);
    if (name !== 'localhost' && !name.endsWith('.localhost')) return null;
    const open = this.#ranges.check('127.0.0.1', 'ipv4') && this.#ranges.check('::1', 'ipv6');
    return open ? null : `${name} is a loopback address; ${HINT}`;
  }

  /** Why `host`, resolved to `addresses`, may not be reached: the first address that is neither public nor allowed. */
  refuseAddresses(host: string, addresses: readonly string[]): string | null {
    const name = normaliseHost(host);
    if (this.#names.has(name)) return null;
    for (const address of addresses) {
      const category = this.#refused(address);
      if (!category) continue;
      return isIP(name)
        ? `${address} is ${described(category)}; ${HINT}`
        : `${name} resolves to ${address}, ${described(category)}; ${HINT}`;
    }
    return null;
  }

  /** Throws `invalid_field` naming `field` when the host of `url` may not be reached (see `refuseHost`). */
  checkUrl(url: string, field: string): void {
    const reason = this.refuseHost(urlHost(url));
    if (reason) {
      throw new SimscopeError('invalid_field', `${field}: ${reason}`, {
        details: { issues: [{ field, message: reason }] },
      });
    }
  }
}
