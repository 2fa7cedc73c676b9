// Re-reads pfSense after apply and checks each applied change took: present and equal, in order, absent, revoked.
import type { Diagnostic } from '../../desired/diagnostic.ts';
import type { Applied } from '../../engine/types.ts';
import { type LivePfSense, OVERRIDE_FIELDS, parseMarker, type PfSensePayload, PORT_FORWARD_FIELDS, RULE_FIELDS } from './model.ts';

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function problem(a: Applied, message: string): Diagnostic {
  return { file: '', line: 0, col: 0, path: `${a.change.kind}/${a.change.name}`, code: 'verify-mismatch', message, severity: 'error' };
}

/** Pure: the live state after apply against what each applied change wrote. */
export function verifyPfSense(applied: readonly Applied[], live: LivePfSense, instance: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const owner = (descr: string) => {
    const m = parseMarker(descr);
    return m && m.instance === instance ? m.name : undefined;
  };
  const ruleIndex = (name: string) => live.rules.findIndex((r) => owner(r.descr) === name);
  for (const a of applied) {
    if (!a.ok) continue;
    const c = a.change;
    const p = c.payload as unknown as PfSensePayload;
    const removing = c.action === 'delete';
    if (p.type === 'alias') {
      const l = live.aliases.find((x) => x.name === p.wireName);
      if (removing) {
        if (l) out.push(problem(a, `alias ${p.wireName} is still on pfSense`));
      } else if (!l) out.push(problem(a, `alias ${p.wireName} is missing`));
      else if (!same([...l.address].sort(), [...(p.body.address as string[])].sort()) || l.type !== p.body.type || l.descr !== p.body.descr) out.push(problem(a, `alias ${p.wireName} differs from what was written`));
    } else if (p.type === 'rule') {
      const name = c.name.split('#')[0]!;
      const i = ruleIndex(name);
      if (removing) {
        if (!c.name.includes('#') && i >= 0) out.push(problem(a, 'the rule is still on pfSense'));
        continue;
      }
      if (i < 0) {
        out.push(problem(a, 'the rule is missing'));
        continue;
      }
      const l = live.rules[i]!;
      const bad = RULE_FIELDS.filter((k) => !same(l[k], p.body[k]));
      if (bad.length > 0) out.push(problem(a, `the rule differs in ${bad.join(', ')}`));
      if (p.after && !(ruleIndex(p.after) >= 0 && ruleIndex(p.after) < i)) out.push(problem(a, `the rule is not after ${p.after}`));
    } else if (p.type === 'portForward') {
      const l = live.portForwards.find((x) => owner(x.descr) === c.name);
      if (removing) {
        if (l) out.push(problem(a, 'the port forward is still on pfSense'));
      } else if (!l) out.push(problem(a, 'the port forward is missing'));
      else {
        const bad = PORT_FORWARD_FIELDS.filter((k) => !same(l[k], p.body[k]));
        if (bad.length > 0) out.push(problem(a, `the port forward differs in ${bad.join(', ')}`));
        if (!live.rules.some((r) => r.associated_rule_id !== null && r.associated_rule_id === l.associated_rule_id)) out.push(problem(a, 'the port forward has no associated filter rule'));
      }
    } else if (p.type === 'certificate') {
      const crl = live.crls.find((x) => x.refid === p.crlref);
      const revoked = (refid: string, serial: string) => !!crl && (crl.revokedCertrefs.has(refid) || crl.revokedSerials.has(serial));
      for (const refid of p.revoke) {
        const cert = live.certificates.find((x) => x.refid === refid);
        if (!revoked(refid, cert?.serial ?? '')) out.push(problem(a, `certificate ${cert?.serial ?? refid} is not in the CRL`));
      }
      if (p.issue && !live.certificates.some((x) => owner(x.descr) === c.name && x.commonName === p.commonName && !revoked(x.refid, x.serial))) {
        out.push(problem(a, `no valid certificate for CN ${p.commonName}`));
      }
    } else if (p.type === 'override') {
      const l = live.overrides.find((x) => owner(x.description) === c.name);
      if (removing || p.body === null) {
        if (l) out.push(problem(a, 'the override is still on pfSense'));
      } else if (!l) out.push(problem(a, 'the override is missing'));
      else {
        const bad = OVERRIDE_FIELDS.filter((k) => (k === 'local_network' ? !same([...l[k]].sort(), [...p.body![k]].sort()) : !same(l[k], p.body![k])));
        if (bad.length > 0) out.push(problem(a, `the override differs in ${bad.join(', ')}`));
      }
    }
  }
  return out;
}
