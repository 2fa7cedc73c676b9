// Pure: a failed connection to a system's HTTPS API (Node and undici error codes) told as the setting an admin must fix: the URL, the CA file, the certificate's names, the timeout.
import { checkServerIdentity, type PeerCertificate } from 'node:tls';

/** What went wrong, from the admin's side: each kind has one setting to look at. */
export type ConnectionFailureKind = 'untrusted' | 'wrong-name' | 'expired' | 'handshake' | 'timeout' | 'unreachable';

/** The certificate chain does not lead to a CA this client trusts: the CA file is what to fix. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED', 'CERT_REJECTED',
]);
const TIMEOUTS = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * The code a certificate for another name fails with here. undici (6.x) handles Node's own code,
 * ERR_TLS_CERT_ALTNAME_INVALID, on a path of its own that leaves requests queued behind the failed connections
 * pending for ever, deaf to their AbortSignal (nodejs/undici#5355): under another code it rejects them all.
 */
export const NAME_MISMATCH = 'INFRASEC_TLS_NAME_MISMATCH';

/** Node's host name check, with its failure under NAME_MISMATCH: pass as undici's `connect.checkServerIdentity`. */
export function checkServerName(host: string, cert: PeerCertificate): Error | undefined {
  const err = checkServerIdentity(host, cert);
  return err && Object.assign(new Error(err.message), { code: NAME_MISMATCH, cert });
}

/** The innermost error that carries a code (undici and fetch wrap the socket's error in `cause`). */
function coded(err: unknown): (Error & { code?: string; cert?: unknown }) | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (typeof (e as { code?: unknown }).code === 'string') return e as Error & { code: string };
  }
  return err instanceof Error ? err : undefined;
}

/** The names a peer certificate carries (subjectAltName, else its CN), from a hostname-check error. */
export function certificateNames(err: unknown): string | undefined {
  const cert = (coded(err) as { cert?: { subjectaltname?: string; subject?: { CN?: string | string[] } } } | undefined)?.cert;
  if (cert?.subjectaltname) return cert.subjectaltname;
  const cn = cert?.subject?.CN;
  return cn ? `CN=${Array.isArray(cn) ? cn.join(',') : cn}` : undefined;
}

/** Pure: the kind of a connection failure and the code and message it was told with (never anything sent). */
export function classifyConnectionFailure(err: unknown): { kind: ConnectionFailureKind; detail: string } {
  const e = coded(err);
  const code = e?.code ?? '';
  // A name mismatch is told with Node's own code, the one an admin finds documented.
  const shownCode = code === NAME_MISMATCH ? 'ERR_TLS_CERT_ALTNAME_INVALID' : code;
  const detail = shownCode ? `${shownCode}: ${e?.message ?? ''}` : (e?.message ?? String(err));
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === NAME_MISMATCH) return { kind: 'wrong-name', detail };
  if (UNTRUSTED.has(code)) return { kind: 'untrusted', detail };
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return { kind: 'expired', detail };
  if (TIMEOUTS.has(code) || e?.name === 'TimeoutError') return { kind: 'timeout', detail };
  if (/CERT|SSL|TLS/.test(code) || code === 'EPROTO' || /handshake|secure TLS connection/i.test(detail)) return { kind: 'handshake', detail };
  return { kind: 'unreachable', detail };
}

/** How the system's settings are named in a message (`systems.pfsense.url (INFRASEC_PFSENSE_URL)`), and what is set now. */
export interface ConnectionSettings {
  /** The system as a person names it: `pfSense`. */
  readonly system: string;
  readonly url: string;
  readonly urlSetting: string;
  readonly caFileSetting: string;
  /** Whether a CA file is configured (its content is not the system store). */
  readonly caFileSet: boolean;
  readonly timeoutSetting: string;
  readonly timeoutMs: number;
}

/**
 * Pure: one sentence saying what failed and which setting to fix, e.g. `pfSense at https://fw: its certificate is not
 * signed by a trusted CA (…); set systems.pfsense.caFile (INFRASEC_PFSENSE_CA_FILE) to a PEM file of the CA that signed it`.
 */
export function describeConnectionFailure(err: unknown, s: ConnectionSettings): string {
  const { kind, detail } = classifyConnectionFailure(err);
  const at = `${s.system} at ${s.url}`;
  switch (kind) {
    case 'untrusted': {
      const now = s.caFileSet ? 'the file set now does not hold it' : "unset: only the system's CA store is trusted";
      return `${at}: its certificate is not signed by a trusted CA (${detail}); set ${s.caFileSetting} to a PEM file of the CA that signed it (${now})`;
    }
    case 'wrong-name': {
      const names = certificateNames(err);
      return `${at}: its certificate does not name the host of ${s.urlSetting} (${detail})${names ? `; it names ${names}` : ''}; set ${s.urlSetting} to a name the certificate carries`;
    }
    case 'expired':
      return `${at}: its certificate is not valid now (${detail}); renew the certificate of ${s.system}, or check this machine's clock`;
    case 'handshake':
      return `TLS handshake with ${at} failed (${detail}); check that ${s.urlSetting} names its HTTPS port and scheme, then ${s.caFileSetting}`;
    case 'timeout':
      return `${at} did not answer within ${s.timeoutMs} ms (${detail}); check ${s.urlSetting} and that ${s.system} is running, or raise ${s.timeoutSetting}`;
    case 'unreachable':
      return `cannot reach ${at} (${detail}); check ${s.urlSetting} and that ${s.system} is running and reachable from here`;
  }
}
