import { describe, expect, it } from 'vitest';
import { loadFromFiles } from '../../src/desired/load.ts';
import { checkPort, checkReferences, cidrContains, formatIpv4, parseCidr, parseIpv4 } from '../../src/desired/references.ts';
import { baseFiles, lineOf, resource, toInputs, yamlDocs } from './documents.ts';

describe('parseIpv4', () => {
  it.each([
    ['192.168.10.1', 0xc0a80a01],
    ['0.0.0.0', 0],
    ['255.255.255.255', 0xffffffff],
    ['10.8.0.10', 0x0a08000a],
  ])('reads %s as %i', (text, value) => {
    expect(parseIpv4(text)).toBe(value);
  });

  it.each(['256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', ' 1.2.3.4', '1.2.3.4 ', 'a.b.c.d', '', '1.2.3.-1', '1.2.3.4/32', '1..2.3'])(
    'rejects %j',
    (text) => {
      expect(parseIpv4(text)).toBeUndefined();
    },
  );

  it('formats back what it parsed', () => {
    expect(formatIpv4(parseIpv4('172.16.50.10')!)).toBe('172.16.50.10');
    expect(formatIpv4(0xffffffff)).toBe('255.255.255.255');
  });
});

describe('parseCidr', () => {
  it.each([
    ['10.8.0.0/24', 0x0a080000, 24],
    ['0.0.0.0/0', 0, 0],
    ['192.168.10.1/32', 0xc0a80a01, 32],
    ['172.16.0.0/12', 0xac100000, 12],
  ])('reads %s as network %i prefix %i', (text, network, prefix) => {
    expect(parseCidr(text)).toEqual({ network, prefix });
  });

  it.each([
    ['10.8.0.1/24', 'host bits are set; did you mean 10.8.0.0/24?'],
    ['10.8.0.0/33', 'prefix length must be 0-32'],
    ['10.8.0.0', 'must be a.b.c.d/n'],
    ['10.8.0.0/24/1', 'must be a.b.c.d/n'],
    ['10.8.0.0/', 'must be a.b.c.d/n'],
    ['10.8.0.0/-1', 'must be a.b.c.d/n'],
    ['10.8.0.0/123', 'must be a.b.c.d/n'],
    ['300.0.0.0/8', '"300.0.0.0" is not a valid IPv4 address'],
  ])('rejects %s: %s', (text, reason) => {
    expect(parseCidr(text)).toBe(reason);
  });

  it.each([
    ['10.8.0.0/24', '10.8.0.10', true],
    ['10.8.0.0/24', '10.8.0.255', true],
    ['10.8.0.0/24', '10.8.1.0', false],
    ['0.0.0.0/0', '203.0.113.7', true],
    ['192.168.10.1/32', '192.168.10.1', true],
    ['192.168.10.1/32', '192.168.10.2', false],
  ])('%s contains %s: %s', (cidr, ip, inside) => {
    expect(cidrContains(parseCidr(cidr) as Exclude<ReturnType<typeof parseCidr>, string>, parseIpv4(ip)!)).toBe(inside);
  });
});

describe('checkPort', () => {
  it.each(['1', '443', '65535', '10000:20000', '10000-20000', '80:80'])('accepts %s', (text) => {
    expect(checkPort(text)).toBeUndefined();
  });

  it.each([
    ['0', 'ports must be 1-65535'],
    ['65536', 'ports must be 1-65535'],
    ['99999', 'ports must be 1-65535'],
    ['20000:10000', 'port range must be low:high'],
    ['', 'must be a port or a range low:high'],
    ['80:90:100', 'must be a port or a range low:high'],
    ['1-2-3', 'must be a port or a range low:high'],
    [' 80', 'must be a port or a range low:high'],
    ['1e3', 'must be a port or a range low:high'],
    ['0x50', 'must be a port or a range low:high'],
    ['80.0', 'must be a port or a range low:high'],
    ['-80', 'must be a port or a range low:high'],
    ['80-', 'must be a port or a range low:high'],
    ['https', 'must be a port or a range low:high'],
  ])('rejects %j: %s', (text, reason) => {
    expect(checkPort(text)).toBe(reason);
  });
});

describe('checkReferences (through loadFromFiles)', () => {
  // Sorts after every base file: for a clash, the base document is the first definition and the extra one the duplicate.
  const EXTRA = 'zz-extra.yaml';
  const load = (extra: string) => loadFromFiles(toInputs({ ...baseFiles(), [EXTRA]: extra }));

  it('finds nothing wrong in the base state, where every reference resolves', () => {
    const result = loadFromFiles(toInputs(baseFiles()));
    expect(result.diagnostics).toEqual([]);
    expect(result.state?.users.size).toBe(2);
  });

  const user = (name: string, spec: Record<string, unknown> = {}) => resource('User', name, { givenName: 'B', surname: 'Noel', ...spec });
  const ext = (name: string, spec: Record<string, unknown>) => resource('Extension', name, { callerIdName: 'X', secret: { generate: true }, ...spec });
  const vpn = (name: string, spec: Record<string, unknown>) => resource('VpnProfile', name, { user: 'amuller', server: 'rw', tunnelNetwork: '10.8.0.0/24', ...spec });
  const rule = (name: string, spec: Record<string, unknown>) =>
    resource('FirewallRule', name, { interface: 'openvpn', action: 'pass', source: { any: true }, destination: { any: true }, order: 500, ...spec });
  const alias = (name: string, spec: Record<string, unknown>) => resource('MailAlias', name, { address: `${name}@cod.example.fr`, recipients: ['User/jdupont'], ...spec });

  // [case, extra documents, expected code, expected path, text on the expected line]
  const cases: Array<[string, Array<Record<string, unknown>>, string, string, string]> = [
    ['a user in an undefined group', [user('bnoel', { groups: ['ops', 'rh'] })], 'ref-missing', 'spec.groups[1]', '- rh'],
    ['a group member user that is not defined', [resource('Group', 'g2', { members: ['User/ghost'] })], 'ref-missing', 'spec.members[0]', 'User/ghost'],
    ['a group member group that is not defined', [resource('Group', 'g2', { members: ['Group/ghost'] })], 'ref-missing', 'spec.members[0]', 'Group/ghost'],
    ['a bare member name that is no user', [resource('Group', 'g2', { members: ['ghost'] })], 'ref-missing', 'spec.members[0]', '- ghost'],
    ['a group that contains itself', [resource('Group', 'g2', { members: ['Group/g2'] })], 'ref-cycle', 'spec.members[0]', 'Group/g2'],
    ['an extension whose owner is not defined', [ext('ext-201', { number: '201', owner: 'ghost' })], 'ref-missing', 'spec.owner', 'owner: ghost'],
    ['two extensions with one number', [ext('ext-200b', { number: '200' })], 'number-duplicate', 'spec.number', 'number: "200"'],
    ['a conference number equal to an extension number', [resource('Conference', 'c2', { number: '4000', title: 'Crise' })], 'number-collision', 'spec.number', 'number: "4000"'],
    ['a VPN profile for an undefined user', [vpn('vpn-ghost', { user: 'ghost' })], 'ref-missing', 'spec.user', 'user: ghost'],
    ['two VPN profiles for one user', [vpn('vpn-2', { user: 'jdupont', staticAddress: '10.8.0.20' })], 'vpn-user-duplicate', 'spec.user', 'user: jdupont'],
    ['a static address outside the tunnel network', [vpn('vpn-am', { staticAddress: '10.9.0.5' })], 'address-outside-network', 'spec.staticAddress', '10.9.0.5'],
    ['a static address already assigned', [vpn('vpn-am', { staticAddress: '10.8.0.10' })], 'address-duplicate', 'spec.staticAddress', '10.8.0.10'],
    ['the tunnel network address as static address', [vpn('vpn-am', { staticAddress: '10.8.0.0' })], 'address-reserved', 'spec.staticAddress', 'staticAddress: 10.8.0.0'],
    ['the tunnel broadcast address as static address', [vpn('vpn-am', { staticAddress: '10.8.0.255' })], 'address-reserved', 'spec.staticAddress', '10.8.0.255'],
    ['a tunnel network with host bits', [vpn('vpn-am', { tunnelNetwork: '10.8.0.1/24' })], 'cidr-invalid', 'spec.tunnelNetwork', '10.8.0.1/24'],
    ['a pushed route with host bits', [vpn('vpn-am', { routes: ['192.168.10.1/24'] })], 'cidr-invalid', 'spec.routes[0]', '192.168.10.1/24'],
    ['a rule destination alias that is not defined', [rule('r1', { destination: { alias: 'ghost' } })], 'ref-missing', 'spec.destination.alias', 'alias: ghost'],
    ['a rule source alias holding ports', [rule('r1', { source: { alias: 'ports-web' } })], 'alias-type', 'spec.source.alias', 'alias: ports-web'],
    ['a rule portAlias holding hosts', [rule('r1', { protocol: 'tcp', portAlias: 'srv-web' })], 'alias-type', 'spec.portAlias', 'portAlias: srv-web'],
    ['a rule portAlias that is not defined', [rule('r1', { protocol: 'tcp', portAlias: 'ghost' })], 'ref-missing', 'spec.portAlias', 'portAlias: ghost'],
    ['a rule with both ports and portAlias', [rule('r1', { protocol: 'tcp', ports: ['443'], portAlias: 'ports-web' })], 'ports-conflict', 'spec.portAlias', 'portAlias: ports-web'],
    // A field left to its default has no node of its own: the finding points at the start of spec.
    ['a rule with ports but protocol any', [rule('r1', { ports: ['443'] })], 'ports-without-protocol', 'spec.protocol', 'interface: openvpn'],
    ['a rule port above 65535', [rule('r1', { protocol: 'udp', ports: ['53', '70000'] })], 'port-invalid', 'spec.ports[1]', '"70000"'],
    ['a rule order already used on the interface', [rule('r1', { interface: 'wan', order: 100 })], 'order-duplicate', 'spec.order', 'order: 100'],
    ['a rule address with host bits', [rule('r1', { destination: { address: '192.168.10.5/24' } })], 'address-invalid', 'spec.destination.address', '192.168.10.5/24'],
    ['a host alias entry that is a network', [resource('FirewallAlias', 'a1', { type: 'host', entries: ['172.16.50.0/24'] })], 'address-invalid', 'spec.entries[0]', '172.16.50.0/24'],
    ['a network alias entry with host bits', [resource('FirewallAlias', 'a1', { type: 'network', entries: ['10.0.0.1/8'] })], 'cidr-invalid', 'spec.entries[0]', '10.0.0.1/8'],
    ['a port alias entry of port 0', [resource('FirewallAlias', 'a1', { type: 'port', entries: ['0'] })], 'port-invalid', 'spec.entries[0]', '"0"'],
    ['a port alias entry with three parts', [resource('FirewallAlias', 'a1', { type: 'port', entries: ['80:90:100'] })], 'port-invalid', 'spec.entries[0]', '80:90:100'],
    ['a port forward to port 0', [resource('PortForward', 'pf', { interface: 'wan', externalPort: '8443', target: '172.16.50.10', targetPort: '0' })], 'port-invalid', 'spec.targetPort', 'targetPort'],
    ['a port forward source alias that is not defined', [resource('PortForward', 'pf', { interface: 'wan', externalPort: '8443', target: '172.16.50.10', targetPort: '443', source: { alias: 'ghost' } })], 'ref-missing', 'spec.source.alias', 'alias: ghost'],
    ['a mail alias outside any declared domain', [alias('x', { address: 'x@other.example.fr' })], 'mail-domain-undeclared', 'spec.address', 'x@other.example.fr'],
    ['a mail alias recipient user that is not defined', [alias('x', { recipients: ['User/ghost'] })], 'ref-missing', 'spec.recipients[0]', 'User/ghost'],
    ['a mail alias recipient user without e-mail', [user('bnoel'), alias('x', { recipients: ['User/bnoel'] })], 'ref-no-mailbox', 'spec.recipients[0]', 'User/bnoel'],
    ['a user e-mail outside any declared domain', [user('bnoel', { email: 'bnoel@gmail.example.com' })], 'mail-domain-undeclared', 'spec.email', 'bnoel@gmail'],
    ['a subdomain of the declared domain', [user('bnoel', { email: 'bnoel@sub.cod.example.fr' })], 'mail-domain-undeclared', 'spec.email', 'bnoel@sub'],
    ['a mailbox alias outside any declared domain', [user('bnoel', { email: 'bnoel@cod.example.fr', mailbox: { aliases: ['b@elsewhere.example.fr'] } })], 'mail-domain-undeclared', 'spec.mailbox.aliases[0]', 'b@elsewhere'],
    ['a mail alias address that is a user e-mail', [alias('x', { address: 'JDupont@cod.example.fr' })], 'address-duplicate', 'spec.address', 'JDupont@'],
    ['a mailbox without e-mail', [user('bnoel', { mailbox: { quotaMB: 10 } })], 'mailbox-without-email', 'spec.mailbox', 'quotaMB: 10'],
    ['a WebRTC extension over UDP', [ext('ext-4001', { number: '4001', webrtc: true, transport: 'udp' })], 'webrtc-transport', 'spec.transport', 'transport: udp'],
    ['a softphone over WSS', [ext('ext-4001', { number: '4001', transport: 'wss' })], 'webrtc-transport', 'spec.webrtc', 'callerIdName: X'],
    ['voicemail enabled without a PIN', [ext('ext-202', { number: '202', voicemail: { enabled: true } })], 'field-required', 'spec.voicemail', 'enabled: true'],
    ['an expiry date that does not exist (30 February)', [user('bnoel', { accountExpires: '2026-02-30' })], 'value-invalid', 'spec.accountExpires', '2026-02-30'],
    ['an expiry date in month 13', [user('bnoel', { accountExpires: '2026-13-01' })], 'value-invalid', 'spec.accountExpires', '2026-13-01'],
  ];

  it.each(cases)('reports %s', (_name, docs, code, path, needle) => {
    const extra = yamlDocs(...docs);
    const result = load(extra);
    expect(result.state).toBeUndefined();
    const found = result.diagnostics.filter((d) => d.file === EXTRA && d.code === code && d.path === path);
    expect(found, JSON.stringify(result.diagnostics, null, 1)).toHaveLength(1);
    expect(found[0]!.line).toBe(lineOf(extra, needle));
    // Nothing but the planted problem: the base stays clean and no other finding rides along.
    expect(result.diagnostics).toHaveLength(1);
  });

  it('accepts a real leap day and a date-time expiry', () => {
    const result = load(yamlDocs(user('bnoel', { accountExpires: '2028-02-29' }), user('cnoel', { accountExpires: '2026-12-31T18:00:00+01:00' })));
    expect(result.diagnostics).toEqual([]);
  });

  it('lets two VPN servers hand out the same static address', () => {
    const result = load(yamlDocs(vpn('vpn-am', { server: 'rw-it', staticAddress: '10.8.0.10' })));
    expect(result.diagnostics).toEqual([]);
  });

  it('reports every broken reference of one document, not only the first', () => {
    const extra = yamlDocs(user('bnoel', { groups: ['rh', 'compta'], email: 'b@nowhere.example.fr' }));
    const codes = load(extra).diagnostics.map((d) => `${d.path} ${d.code}`);
    expect(codes).toEqual(['spec.groups[0] ref-missing', 'spec.groups[1] ref-missing', 'spec.email mail-domain-undeclared']);
  });

  describe('did you mean', () => {
    const messages = (...docs: Array<Record<string, unknown>>) => load(yamlDocs(...docs)).diagnostics.map((d) => `${d.path}: ${d.message} [${d.code}]`);

    it.each([
      ['a group name with a letter missing', [user('bnoel', { groups: ['op'] })], 'spec.groups[0]: group "op" is not defined; did you mean "ops"? [ref-missing]'],
      ['an owner with two letters swapped', [ext('ext-201', { number: '201', owner: 'jdpuont' })], 'spec.owner: user "jdpuont" is not defined; did you mean "jdupont"? [ref-missing]'],
      ['a VPN user', [vpn('vpn-x', { user: 'amueller' })], 'spec.user: user "amueller" is not defined; did you mean "amuller"? [ref-missing]'],
      ['a prefixed group member', [resource('Group', 'g2', { members: ['Group/opss'] })], 'spec.members[0]: group "opss" is not defined; did you mean "Group/ops"? [ref-missing]'],
      ['a bare user member', [resource('Group', 'g2', { members: ['jdupond'] })], 'spec.members[0]: user "jdupond" is not defined; did you mean "jdupont"? [ref-missing]'],
      ['a mail recipient', [alias('x', { recipients: ['User/jdupon'] })], 'spec.recipients[0]: user "jdupon" is not defined; did you mean "User/jdupont"? [ref-missing]'],
      ['a firewall alias', [rule('r1', { destination: { alias: 'srv-wbe' } })], 'spec.destination.alias: firewall alias "srv-wbe" is not defined; did you mean "srv-web"? [ref-missing]'],
      ['a port alias', [rule('r1', { protocol: 'tcp', portAlias: 'port-web' })], 'spec.portAlias: firewall alias "port-web" is not defined; did you mean "ports-web"? [ref-missing]'],
      ['a mail domain', [user('bnoel', { email: 'bnoel@cod.exemple.fr' })], 'spec.email: domain "cod.exemple.fr" is not a declared MailDomain; did you mean "cod.example.fr"? [mail-domain-undeclared]'],
      ['a bare member naming a group', [resource('Group', 'g2', { members: ['ops'] })], 'spec.members[0]: user "ops" is not defined, but a group of that name is; did you mean "Group/ops"? [ref-missing]'],
      ['a group member naming a user', [resource('Group', 'g2', { members: ['Group/jdupont'] })], 'spec.members[0]: group "jdupont" is not defined, but a user of that name is; did you mean "User/jdupont"? [ref-missing]'],
      ['nothing when no name is close', [user('bnoel', { groups: ['comptabilite'] })], 'spec.groups[0]: group "comptabilite" is not defined [ref-missing]'],
    ])('suggests %s', (_what, docs, expected) => {
      expect(messages(...docs)).toEqual([expected]);
    });
  });

  describe('objects written but refused', () => {
    const state = loadFromFiles(toInputs(baseFiles())).state!;
    const withoutJdupont = { ...state, users: new Map([...state.users].filter(([name]) => name !== 'jdupont')) };

    it('reports every reference to an object that is missing', () => {
      expect(checkReferences(withoutJdupont).map((d) => `${d.file} ${d.path} ${d.code}`)).toEqual([
        'groups.yaml spec.members[1] ref-missing',
        'telephony.yaml spec.owner ref-missing',
        'vpn.yaml spec.user ref-missing',
        'mail/aliases.yaml spec.recipients[0] ref-missing',
      ]);
    });

    it('reports none to an object that was written but refused: its own error is the cause', () => {
      expect(checkReferences(withoutJdupont, { broken: new Set(['User/jdupont']) })).toEqual([]);
    });

    it('does not take a refused object of another kind for the one referred to', () => {
      expect(checkReferences(withoutJdupont, { broken: new Set(['Group/jdupont']) })).toHaveLength(4);
    });
  });
});
