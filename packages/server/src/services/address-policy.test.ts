import { describe, expect, it } from 'vitest';
import { AddressPolicy, addressCategory, parseAllowList, urlHost } from './address-policy.js';

describe('addressCategory', () => {
  it('names the category of every non-public literal address and null for public ones', () => {
    const table: [string, string | null][] = [
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['::1', 'loopback'],
      ['0.0.0.0', 'unspecified'],
      ['0.1.2.3', 'unspecified'],
      ['::', 'unspecified'],
      ['169.254.169.254', 'link-local'],
      ['fe80::1', 'link-local'],
      ['febf:ffff::1', 'link-local'],
      ['10.0.0.1', 'private'],
      ['10.255.255.255', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.1', 'private'],
      ['fc00::1', 'private'],
      ['fd12:3456:789a::1', 'private'],
      ['fec0::1', 'private'],
      ['100.64.0.1', 'carrier-grade NAT'],
      ['100.127.255.255', 'carrier-grade NAT'],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.250', 'multicast'],
      ['ff02::1', 'multicast'],
      ['255.255.255.255', 'broadcast'],
      ['192.0.2.10', 'documentation'],
      ['198.51.100.7', 'documentation'],
      ['203.0.113.99', 'documentation'],
      ['2001:db8::1', 'documentation'],
      ['240.0.0.1', 'reserved'],
      ['198.18.0.1', 'reserved'],
      ['192.0.0.8', 'reserved'],
      ['100::1', 'reserved'],
      ['2002:7f00:1::1', 'reserved'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['::ffff:10.1.2.3', 'private'],
      ['::ffff:169.254.169.254', 'link-local'],
      ['::127.0.0.1', 'reserved'],
      ['8.8.8.8', null],
      ['1.1.1.1', null],
      ['172.15.255.255', null],
      ['172.32.0.1', null],
      ['100.63.255.255', null],
      ['100.128.0.1', null],
      ['169.253.255.255', null],
      ['11.0.0.1', null],
      ['2606:4700:4700::1111', null],
      ['2a00:1450:4007:80f::200e', null],
      ['::ffff:8.8.8.8', null],
    ];
    const got = table.map(([address]) => [address, addressCategory(address)]);
    expect(got).toEqual(table);
  });

  it('throws on something that is not an IP address', () => {
    expect(() => addressCategory('localhost')).toThrow("'localhost' is not an IP address");
  });
});

describe('urlHost', () => {
  it('gives the host as the URL parser reads it: brackets and a final dot off, numeric IPv4 forms spelt out', () => {
    expect(urlHost('http://127.0.0.1:8080/x')).toBe('127.0.0.1');
    expect(urlHost('http://2130706433/')).toBe('127.0.0.1');
    expect(urlHost('http://0x7f.1/')).toBe('127.0.0.1');
    expect(urlHost('http://[::1]:9/')).toBe('::1');
    expect(urlHost('http://[::ffff:127.0.0.1]/')).toBe('::ffff:7f00:1');
    expect(urlHost('https://LocalHost./hook')).toBe('localhost');
    expect(urlHost('https://hooks.example.org/a')).toBe('hooks.example.org');
  });
});

describe('parseAllowList', () => {
  it('reads comma-separated hostnames, addresses and CIDR ranges', () => {
    expect(
      parseAllowList(' 127.0.0.1/32, hooks.internal,10.0.0.0/8 ,,::1,Hooks.Example.ORG.', 'webhook allow'),
    ).toEqual(['127.0.0.1/32', 'hooks.internal', '10.0.0.0/8', '::1', 'hooks.example.org']);
    expect(parseAllowList('', 'webhook allow')).toEqual([]);
  });

  it('names the entry that is neither', () => {
    const bad: [string, string][] = [
      ['10.0.0.0/33', "webhook allow: '10.0.0.0/33' is not a hostname, an IP address or a CIDR range"],
      ['fe80::/129', "webhook allow: 'fe80::/129' is not a hostname, an IP address or a CIDR range"],
      ['10.0.0.0/', "webhook allow: '10.0.0.0/' is not a hostname, an IP address or a CIDR range"],
      ['host name', "webhook allow: 'host name' is not a hostname, an IP address or a CIDR range"],
      ['http://x/', "webhook allow: 'http://x/' is not a hostname, an IP address or a CIDR range"],
    ];
    for (const [text, message] of bad) expect(() => parseAllowList(text, 'webhook allow')).toThrow(message);
  });
});

describe('AddressPolicy', () => {
  const hint = 'an admin can allow it with --webhook-allow';

  it('refuses, by name alone, literal non-public addresses and localhost names', () => {
    const policy = new AddressPolicy();
    expect(policy.refuseHost('127.0.0.1')).toBe(`127.0.0.1 is a loopback address; ${hint}`);
    expect(policy.refuseHost('::1')).toBe(`::1 is a loopback address; ${hint}`);
    expect(policy.refuseHost('169.254.169.254')).toBe(`169.254.169.254 is a link-local address; ${hint}`);
    expect(policy.refuseHost('0.0.0.0')).toBe(`0.0.0.0 is an unspecified address; ${hint}`);
    expect(policy.refuseHost('::ffff:7f00:1')).toBe(`::ffff:7f00:1 is a loopback address; ${hint}`);
    expect(policy.refuseHost('localhost')).toBe(`localhost is a loopback address; ${hint}`);
    expect(policy.refuseHost('api.localhost')).toBe(`api.localhost is a loopback address; ${hint}`);
    expect(policy.refuseHost('8.8.8.8')).toBeNull();
    expect(policy.refuseHost('hooks.example.org')).toBeNull();
  });

  it('refuses a name that resolves to any non-public address', () => {
    const policy = new AddressPolicy();
    expect(policy.refuseAddresses('hooks.example.org', ['93.184.216.34', '10.1.2.3'])).toBe(
      `hooks.example.org resolves to 10.1.2.3, a private address; ${hint}`,
    );
    expect(policy.refuseAddresses('127.0.0.1', ['127.0.0.1'])).toBe(
      `127.0.0.1 is a loopback address; ${hint}`,
    );
    expect(policy.refuseAddresses('hooks.example.org', ['93.184.216.34', '2606:2800:220:1::1'])).toBeNull();
  });

  it('allows listed ranges and names, and nothing else', () => {
    const policy = new AddressPolicy(parseAllowList('127.0.0.1/32,hooks.internal,10.0.0.0/8,fd00::/8', 'x'));
    expect(policy.refuseHost('127.0.0.1')).toBeNull();
    expect(policy.refuseHost('::ffff:127.0.0.1')).toBeNull();
    expect(policy.refuseHost('127.0.0.2')).toBe(`127.0.0.2 is a loopback address; ${hint}`);
    expect(policy.refuseHost('10.200.0.1')).toBeNull();
    expect(policy.refuseHost('fd00::5')).toBeNull();
    expect(policy.refuseHost('fc00::5')).toBe(`fc00::5 is a private address; ${hint}`);
    expect(policy.refuseHost('192.168.0.1')).toBe(`192.168.0.1 is a private address; ${hint}`);
    expect(policy.refuseAddresses('hooks.internal', ['192.168.7.7'])).toBeNull();
    expect(policy.refuseAddresses('Hooks.Internal', ['192.168.7.7'])).toBeNull();
    expect(policy.refuseAddresses('other.internal', ['10.9.9.9'])).toBeNull();
    expect(policy.refuseAddresses('other.internal', ['10.9.9.9', '172.16.0.9'])).toBe(
      `other.internal resolves to 172.16.0.9, a private address; ${hint}`,
    );
    // localhost is loopback in both families: allowing one range leaves the other refused.
    expect(policy.refuseHost('localhost')).toBe(`localhost is a loopback address; ${hint}`);
    expect(new AddressPolicy(['localhost']).refuseHost('localhost')).toBeNull();
    expect(new AddressPolicy(['127.0.0.0/8', '::1']).refuseHost('localhost')).toBeNull();
  });
});
