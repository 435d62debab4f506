/**
 * Printers for apps (deployments, replicasets, statefulsets), autoscaling (HPA v1 and v2),
 * policy (PDB), networking (ingresses, ingressclasses, networkpolicies), discovery
 * (endpointslices) and coordination (leases).
 */
import { SelectorError, formatLabelSelector, fromLabelSelectorObject, selectorToString } from '../selectors/labels.js';
import {
  type Obj,
  type Printer,
  age,
  ageCol,
  col,
  containerCells,
  containersCol,
  imagesCol,
  int,
  intOrString,
  listWithMore,
  loadBalancerString,
  nameCol,
  nameOf,
  str,
} from './common.js';

/** Desired replicas as the internal type sees them: v1 defaults an unset spec.replicas to 1. */
function desired(obj: Obj): number {
  return typeof obj.spec?.replicas === 'number' ? int(obj.spec.replicas) : 1;
}

function podTemplateContainers(obj: Obj): unknown {
  return obj.spec?.template?.spec?.containers;
}

// ---------------------------------------------------------------- apps

const deploymentPrinter: Printer = {
  columns: [
    nameCol(),
    col('Ready', 'string', 'Ready pods out of the desired replicas.'),
    col('Up-to-date', 'string', 'Pods running the current pod template.'),
    col('Available', 'string', 'Pods ready for at least minReadySeconds.'),
    ageCol(),
    containersCol(),
    imagesCol(),
    col('Selector', 'string', 'Label selector of the pods the deployment manages.', { priority: 1 }),
  ],
  row(d, now) {
    const st = d.status ?? {};
    let selector: string;
    try {
      selector = selectorToString(fromLabelSelectorObject(d.spec?.selector));
    } catch (e) {
      if (!(e instanceof SelectorError)) throw e;
      selector = '<invalid>';
    }
    const [names, images] = containerCells(podTemplateContainers(d));
    return [nameOf(d), `${int(st.readyReplicas)}/${desired(d)}`, int(st.updatedReplicas), int(st.availableReplicas), age(d, now), names, images, selector];
  },
};

const replicaSetPrinter: Printer = {
  columns: [
    nameCol(),
    col('Desired', 'integer', 'Replicas the replica set should run.'),
    col('Current', 'integer', 'Replicas currently created.'),
    col('Ready', 'integer', 'Replicas that are ready.'),
    ageCol(),
    containersCol(),
    imagesCol(),
    col('Selector', 'string', 'Label selector of the pods the replica set manages.', { priority: 1 }),
  ],
  row(rs, now) {
    const st = rs.status ?? {};
    const [names, images] = containerCells(podTemplateContainers(rs));
    return [nameOf(rs), desired(rs), int(st.replicas), int(st.readyReplicas), age(rs, now), names, images, formatLabelSelector(rs.spec?.selector)];
  },
};

const statefulSetPrinter: Printer = {
  columns: [nameCol(), col('Ready', 'string', 'Ready pods out of the desired replicas.'), ageCol(), containersCol(), imagesCol()],
  row(sts, now) {
    const [names, images] = containerCells(podTemplateContainers(sts));
    return [nameOf(sts), `${int(sts.status?.readyReplicas)}/${desired(sts)}`, age(sts, now), names, images];
  },
};

/** kube's ControllerRevision columns: the controlling owner as `kind.group/name`, the revision number. */
const controllerRevisionPrinter: Printer = {
  columns: [nameCol(), col('Controller', 'string', 'Controller of the object.'), col('Revision', 'integer', 'Revision of the ControllerRevision.'), ageCol()],
  row(cr, now) {
    const owner = ((cr.metadata?.ownerReferences ?? []) as Obj[]).find((r) => r.controller === true);
    let controller = '<none>';
    if (owner) {
      const group = String(owner.apiVersion ?? '').includes('/') ? String(owner.apiVersion).split('/')[0] : '';
      controller = `${String(owner.kind ?? '').toLowerCase()}${group ? `.${group}` : ''}/${str(owner.name)}`;
    }
    return [nameOf(cr), controller, int(cr.revision), age(cr, now)];
  },
};

// ---------------------------------------------------------------- autoscaling

/** Metric spec/status pairs in autoscaling/v2 form; v1 objects are converted the way kube does. */
function hpaMetrics(hpa: Obj): { specs: Obj[]; statuses: Obj[] } {
  const spec = hpa.spec ?? {};
  const status = hpa.status ?? {};
  if (Array.isArray(spec.metrics) || spec.targetCPUUtilizationPercentage === undefined) {
    return { specs: spec.metrics ?? [], statuses: status.currentMetrics ?? [] };
  }
  const specs = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage } } }];
  const statuses =
    status.currentCPUUtilizationPercentage !== undefined
      ? [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: status.currentCPUUtilizationPercentage } } }]
      : [];
  return { specs, statuses };
}

/** formatHPAMetrics: `cpu: 40%/80%`, `<unknown>` before the first scrape, at most two then `+ N more...`. */
export function formatHPAMetrics(specs: Obj[], statuses: Obj[]): string {
  if (specs.length === 0) return '<none>';
  const list: string[] = [];
  const max = 2;
  specs.forEach((spec, i) => {
    const st: Obj | undefined = statuses[i];
    const q = (v: unknown): string => str(v);
    switch (spec.type) {
      case 'External':
      case 'Object': {
        const key = spec.type === 'External' ? 'external' : 'object';
        const target = spec[key]?.target ?? {};
        const cur = st?.[key]?.current;
        if (target.averageValue != null) {
          list.push(`${cur?.averageValue != null ? q(cur.averageValue) : '<unknown>'}/${q(target.averageValue)} (avg)`);
        } else {
          list.push(`${st?.[key] ? q(cur?.value) : '<unknown>'}/${q(target.value)}`);
        }
        break;
      }
      case 'Pods':
        list.push(`${st?.pods ? q(st.pods.current?.averageValue) : '<unknown>'}/${q(spec.pods?.target?.averageValue)}`);
        break;
      case 'Resource':
      case 'ContainerResource': {
        const key = spec.type === 'Resource' ? 'resource' : 'containerResource';
        const src = spec[key] ?? {};
        const target = src.target ?? {};
        const cur = st?.[key]?.current;
        if (target.averageValue != null) {
          list.push(`${q(src.name)}: ${st?.[key] ? q(cur?.averageValue) : '<unknown>'}/${q(target.averageValue)}`);
        } else {
          const current = cur?.averageUtilization != null ? `${int(cur.averageUtilization)}%` : '<unknown>';
          const tgt = target.averageUtilization != null ? `${int(target.averageUtilization)}%` : '<auto>';
          list.push(`${q(src.name)}: ${current}/${tgt}`);
        }
        break;
      }
      default:
        list.push('<unknown type>');
    }
  });
  const count = list.length;
  if (count > max) return `${list.slice(0, max).join(', ')} + ${count - max} more...`;
  return list.join(', ');
}

const hpaPrinter: Printer = {
  columns: [
    nameCol(),
    col('Reference', 'string', 'The scaled resource, as Kind/name.'),
    col('Targets', 'string', 'Current and target values of the scaling metrics.'),
    col('MinPods', 'string', 'Lower bound on replicas.'),
    col('MaxPods', 'string', 'Upper bound on replicas.'),
    col('Replicas', 'string', 'Current replicas as last seen by the autoscaler.'),
    ageCol(),
  ],
  row(hpa, now) {
    const spec = hpa.spec ?? {};
    const ref = spec.scaleTargetRef ?? {};
    const { specs, statuses } = hpaMetrics(hpa);
    const minPods = typeof spec.minReplicas === 'number' ? String(int(spec.minReplicas)) : '<unset>';
    return [nameOf(hpa), `${str(ref.kind)}/${str(ref.name)}`, formatHPAMetrics(specs, statuses), minPods, int(spec.maxReplicas), int(hpa.status?.currentReplicas), age(hpa, now)];
  },
};

// ---------------------------------------------------------------- policy

const pdbPrinter: Printer = {
  columns: [
    nameCol(),
    col('Min Available', 'string', 'Pods that must stay available during voluntary disruptions.'),
    col('Max Unavailable', 'string', 'Pods that may be unavailable during voluntary disruptions.'),
    col('Allowed Disruptions', 'integer', 'Pods that may be disrupted right now.'),
    ageCol(),
  ],
  row(pdb, now) {
    const spec = pdb.spec ?? {};
    return [
      nameOf(pdb),
      spec.minAvailable != null ? intOrString(spec.minAvailable) : 'N/A',
      spec.maxUnavailable != null ? intOrString(spec.maxUnavailable) : 'N/A',
      int(pdb.status?.disruptionsAllowed),
      age(pdb, now),
    ];
  },
};

// ---------------------------------------------------------------- networking & discovery

function formatHosts(rules: Obj[]): string {
  const list: string[] = [];
  const max = 3;
  let more = false;
  for (const rule of rules) {
    if (list.length === max) more = true;
    if (!more && rule?.host) list.push(str(rule.host));
  }
  if (list.length === 0) return '*';
  const ret = list.join(',');
  return more ? `${ret} + ${rules.length - max} more...` : ret;
}

const ingressPrinter: Printer = {
  columns: [
    nameCol(),
    col('Class', 'string', 'The IngressClass handling this ingress.'),
    col('Hosts', 'string', 'Hosts the ingress rules match.'),
    col('Address', 'string', 'Load-balancer addresses of the ingress.'),
    col('Ports', 'string', 'Ports the ingress serves on (443 when TLS is configured).'),
    ageCol(),
  ],
  row(ing, now) {
    const spec = ing.spec ?? {};
    const cls = spec.ingressClassName != null ? str(spec.ingressClassName) : '<none>';
    const ports = Array.isArray(spec.tls) && spec.tls.length ? '80, 443' : '80';
    return [nameOf(ing), cls, formatHosts(spec.rules ?? []), loadBalancerString(ing.status?.loadBalancer), ports, age(ing, now)];
  },
};

const ingressClassPrinter: Printer = {
  columns: [
    nameCol(),
    col('Controller', 'string', 'The controller implementing this class.'),
    col('Parameters', 'string', 'Reference to a resource holding extra configuration.'),
    ageCol(),
  ],
  row(ic, now) {
    const p = ic.spec?.parameters;
    let params = '<none>';
    if (p) params = `${str(p.kind)}${p.apiGroup != null ? `.${str(p.apiGroup)}` : ''}/${str(p.name)}`;
    return [nameOf(ic), str(ic.spec?.controller), params, age(ic, now)];
  },
};

const networkPolicyPrinter: Printer = {
  columns: [nameCol(), col('Pod-Selector', 'string', 'Pods the policy applies to.'), ageCol()],
  row: (np, now) => [nameOf(np), formatLabelSelector(np.spec?.podSelector ?? {}), age(np, now)],
};

function sliceAddressCount(endpoints: Obj[]): { list: string[]; more: boolean; count: number } {
  const list: string[] = [];
  let more = false;
  let count = 0;
  for (const ep of endpoints) {
    for (const a of (ep?.addresses as unknown[] | undefined) ?? []) {
      if (list.length < 3) list.push(str(a));
      else if (list.length === 3) more = true;
      count++;
    }
  }
  return { list, more, count };
}

const endpointSlicePrinter: Printer = {
  columns: [
    nameCol(),
    col('AddressType', 'string', 'Address family of the endpoints: IPv4, IPv6 or FQDN.'),
    col('Ports', 'string', 'Ports exposed by the endpoints.'),
    col('Endpoints', 'string', 'Addresses of the endpoints.'),
    ageCol(),
  ],
  row(es, now) {
    const ports: Obj[] = es.ports ?? [];
    const plist: string[] = [];
    let pmore = false;
    for (const p of ports) {
      if (plist.length < 3) plist.push(p?.port != null ? String(int(p.port)) : p?.name != null ? str(p.name) : '*');
      else if (plist.length === 3) pmore = true;
    }
    const e = sliceAddressCount(es.endpoints ?? []);
    return [nameOf(es), str(es.addressType), listWithMore(plist, pmore, ports.length, 3), listWithMore(e.list, e.more, e.count, 3), age(es, now)];
  },
};

// ---------------------------------------------------------------- coordination

const leasePrinter: Printer = {
  columns: [nameCol(), col('Holder', 'string', 'Identity of the current lease holder.'), ageCol()],
  row: (l, now) => [nameOf(l), str(l.spec?.holderIdentity), age(l, now)],
};

export const workloadPrinters: Record<string, Printer> = {
  'apps/deployments': deploymentPrinter,
  'apps/replicasets': replicaSetPrinter,
  'apps/statefulsets': statefulSetPrinter,
  'apps/controllerrevisions': controllerRevisionPrinter,
  'autoscaling/horizontalpodautoscalers': hpaPrinter,
  'policy/poddisruptionbudgets': pdbPrinter,
  'networking.k8s.io/ingresses': ingressPrinter,
  'networking.k8s.io/ingressclasses': ingressClassPrinter,
  'networking.k8s.io/networkpolicies': networkPolicyPrinter,
  'discovery.k8s.io/endpointslices': endpointSlicePrinter,
  'coordination.k8s.io/leases': leasePrinter,
};
