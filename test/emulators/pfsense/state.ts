// The emulated firewall's data: a "config" store (config.xml), a "running" snapshot (what pf enforces), dirty flags.

export type Obj = Record<string, unknown>;

export interface InterfaceInfo {
  /** pfSense interface id: wan, lan, opt1… */
  id: string;
  descr: string;
  if: string;
  ipaddr: string;
  subnet: number;
}

/** Collections pf reads from config.xml at a filter reload. */
export interface FirewallConfig {
  aliases: Obj[];
  rules: Obj[];
  nat: Obj[];
  gateways: Obj[];
  gatewayGroups: Obj[];
}

export interface RestApiSettings {
  enabled: boolean;
  read_only: boolean;
  auth_methods: string[];
  represent_interfaces_as: 'id' | 'descr' | 'if';
  hateoas: boolean;
  expose_sensitive_fields: boolean;
  override_sensitive_fields: string[];
  jwt_exp: number;
  login_protection: boolean;
}

export interface EmulatorState {
  settings: RestApiSettings;
  /** API keys: username, descr, hash_algo, length_bytes, hash (sensitive). */
  apiKeys: Obj[];
  /** Local users: name, password (sensitive), scope, priv, cert… */
  users: Obj[];
  interfaces: InterfaceInfo[];
  config: FirewallConfig;
  running: FirewallConfig;
  /** Dirty subsystems, as pfSense's is_subsystem_dirty() sees them. */
  pending: Set<string>;
  cas: Obj[];
  certs: Obj[];
  crls: Obj[];
  openvpnServers: Obj[];
  csos: Obj[];
  authServers: Obj[];
  exportConfigs: Obj[];
  /** Installed packages; the client export needs `openvpn-client-export`. */
  packages: Set<string>;
  /** Where the firewall answers, for the client export's `remote` line. */
  publicHost: string;
}

export function emptyFirewallConfig(): FirewallConfig {
  return { aliases: [], rules: [], nat: [], gateways: [], gatewayGroups: [] };
}

export function cloneFirewall(c: FirewallConfig): FirewallConfig {
  return structuredClone(c);
}

export function emptyState(): EmulatorState {
  return {
    settings: {
      enabled: true,
      read_only: false,
      auth_methods: ['BasicAuth'],
      represent_interfaces_as: 'id',
      hateoas: false,
      expose_sensitive_fields: false,
      override_sensitive_fields: [],
      jwt_exp: 3600,
      login_protection: true,
    },
    apiKeys: [],
    users: [],
    interfaces: [],
    config: emptyFirewallConfig(),
    running: emptyFirewallConfig(),
    pending: new Set(),
    cas: [],
    certs: [],
    crls: [],
    openvpnServers: [],
    csos: [],
    authServers: [],
    exportConfigs: [],
    packages: new Set(['openvpn-client-export']),
    publicHost: '127.0.0.1',
  };
}
