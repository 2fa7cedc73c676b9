// Endpoint table: each pfRest v2 path and the model behind it (singular or plural).
import { clientExport } from './client-export.js';
import type { FirewallQuirks } from './models-firewall.js';
import { aliasModel, gatewayGroupModel, gatewayModel, portForwardModel, ruleModel } from './models-firewall.js';
import {
  authServerModel, caGenerateModel, caModel, certGenerateModel, certModel, crlModel, csoModel, exportConfigModel,
  openvpnServerModel, revokedCertModel, userModel,
} from './models-vpn.js';
import type { Model } from './model.js';

export interface Route {
  model: Model;
  plural: boolean;
}

export function buildRoutes(quirks: FirewallQuirks): Map<string, Route> {
  const rule = ruleModel(quirks);
  const alias = aliasModel(quirks);
  const nat = portForwardModel(quirks);
  const exportModel: Model = {
    name: 'OpenVPNClientExport',
    list: () => [],
    fields: [],
    singular: ['POST'],
    plural: [],
    createHandler: (body, ctx, accept) => clientExport(body, ctx, accept),
  };
  const table: [string, string | null, Model][] = [
    ['firewall/rule', 'firewall/rules', rule],
    ['firewall/alias', 'firewall/aliases', alias],
    ['firewall/nat/port_forward', 'firewall/nat/port_forwards', nat],
    ['routing/gateway', 'routing/gateways', gatewayModel],
    ['routing/gateway/group', 'routing/gateway/groups', gatewayGroupModel],
    ['system/certificate_authority', 'system/certificate_authorities', caModel],
    ['system/certificate_authority/generate', null, caGenerateModel],
    ['system/certificate', 'system/certificates', certModel],
    ['system/certificate/generate', null, certGenerateModel],
    ['system/crl', 'system/crls', crlModel],
    ['system/crl/revoked_certificate', 'system/crl/revoked_certificates', revokedCertModel],
    ['user', 'users', userModel],
    ['system/auth_server', 'system/auth_servers', authServerModel],
    ['vpn/openvpn/server', 'vpn/openvpn/servers', openvpnServerModel],
    ['vpn/openvpn/cso', 'vpn/openvpn/csos', csoModel],
    ['vpn/openvpn/client_export/config', 'vpn/openvpn/client_export/configs', exportConfigModel],
    ['vpn/openvpn/client_export', null, exportModel],
  ];
  const routes = new Map<string, Route>();
  for (const [singular, plural, model] of table) {
    routes.set(`/api/v2/${singular}`, { model, plural: false });
    if (plural) routes.set(`/api/v2/${plural}`, { model, plural: true });
  }
  return routes;
}
