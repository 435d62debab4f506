/**
 * Printers for the core/v1 kinds other than pods: services, endpoints, configmaps, secrets,
 * serviceaccounts, nodes, namespaces and events (core and events.k8s.io share one printer,
 * as both are served from the internal core Event).
 */
import { asCoreEvent } from '../selectors/fields.js';
import { formatLabels } from '../selectors/labels.js';
import {
  type Obj,
  type Printer,
  age,
  ageCol,
  col,
  int,
  loadBalancerString,
  nameCol,
  nameOf,
  parseTime,
  since,
  str,
} from './common.js';

// ---------------------------------------------------------------- services

function serviceExternalIP(svc: Obj): string {
  const spec = svc.spec ?? {};
  const externalIPs: string[] = spec.externalIPs ?? [];
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerString(svc.status?.loadBalancer);
      if (externalIPs.length) return [...(lb ? lb.split(',') : []), ...externalIPs].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return str(spec.externalName);
  }
  return '<unknown>';
}

/** makePortString: `80/TCP`, or `80:30080/TCP` when a node port is allocated. */
export function servicePorts(ports: Obj[] | undefined): string {
  const s = (ports ?? [])
    .map((p) => {
      const proto = str(p.protocol) || 'TCP';
      return int(p.nodePort) > 0 ? `${int(p.port)}:${int(p.nodePort)}/${proto}` : `${int(p.port)}/${proto}`;
    })
    .join(',');
  return s || '<none>';
}

const servicePrinter: Printer = {
  columns: [
    nameCol(),
    col('Type', 'string', 'How the service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName.'),
    col('Cluster-IP', 'string', 'The virtual IP allocated to the service inside the cluster.'),
    col('External-IP', 'string', 'Addresses the service is reachable at from outside the cluster.'),
    col('Port(s)', 'string', 'Ports the service exposes, with node ports where allocated.'),
    ageCol(),
    col('Selector', 'string', 'Label selector choosing the pods that back the service.', { priority: 1 }),
  ],
  row(svc, now) {
    const spec = svc.spec ?? {};
    const clusterIPs: string[] = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
    return [
      nameOf(svc),
      str(spec.type ?? 'ClusterIP'),
      clusterIPs.length ? str(clusterIPs[0]) : '<none>',
      serviceExternalIP(svc),
      servicePorts(spec.ports),
      age(svc, now),
      formatLabels(spec.selector),
    ];
  },
};

// ---------------------------------------------------------------- endpoints

/** formatEndpoints: up to three `ip:port` (or bare IPs for port-less subsets) then `+ N more...`. */
export function formatEndpoints(ep: Obj): string {
  const subsets: Obj[] = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const list: string[] = [];
  const max = 3;
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addrs: Obj[] = ss.addresses ?? [];
    const ports: Obj[] = ss.ports ?? [];
    if (ports.length === 0) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(str(a.ip));
      }
      continue;
    }
    for (const p of ports) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        const ip = str(a.ip);
        list.push(ip.includes(':') ? `[${ip}]:${int(p.port)}` : `${ip}:${int(p.port)}`);
      }
    }
  }
  const ret = list.join(',');
  return more ? `${ret} + ${count - max} more...` : ret;
}

const endpointsPrinter: Printer = {
  columns: [nameCol(), col('Endpoints', 'string', 'Ready addresses (with ports) backing the service.'), ageCol()],
  row: (ep, now) => [nameOf(ep), formatEndpoints(ep), age(ep, now)],
};

// ---------------------------------------------------------------- config & identity

const configMapPrinter: Printer = {
  columns: [nameCol(), col('Data', 'string', 'Number of keys in data and binaryData.'), ageCol()],
  row: (cm, now) => [nameOf(cm), Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length, age(cm, now)],
};

const secretPrinter: Printer = {
  columns: [nameCol(), col('Type', 'string', 'The secret type, which constrains its keys.'), col('Data', 'string', 'Number of keys in data.'), ageCol()],
  row: (s, now) => [nameOf(s), str(s.type), Object.keys(s.data ?? {}).length, age(s, now)],
};

const serviceAccountPrinter: Printer = {
  columns: [nameCol(), col('Secrets', 'string', 'Number of secrets listed on the service account.'), ageCol()],
  row: (sa, now) => [nameOf(sa), (sa.secrets ?? []).length, age(sa, now)],
};

const namespacePrinter: Printer = {
  columns: [nameCol(), col('Status', 'string', 'The lifecycle phase of the namespace.'), ageCol()],
  row: (ns, now) => [nameOf(ns), str(ns.status?.phase), age(ns, now)],
};

// ---------------------------------------------------------------- nodes

function nodeRoles(node: Obj): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries((node.metadata?.labels as Record<string, string> | undefined) ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && v !== '') {
      roles.add(v);
    }
  }
  return [...roles].sort().join(',') || '<none>';
}

function nodeAddress(node: Obj, type: string): string {
  const a = ((node.status?.addresses as Obj[] | undefined) ?? []).find((x) => x?.type === type);
  return a ? str(a.address) : '<none>';
}

const nodePrinter: Printer = {
  columns: [
    nameCol(),
    col('Status', 'string', 'Ready condition of the node, and whether scheduling is disabled.'),
    col('Roles', 'string', 'Roles taken from node-role.kubernetes.io/ labels.'),
    ageCol(),
    col('Version', 'string', 'Kubelet version reported by the node.'),
    col('Internal-IP', 'string', "The node's InternalIP address.", { priority: 1 }),
    col('External-IP', 'string', "The node's ExternalIP address.", { priority: 1 }),
    col('OS-Image', 'string', 'Operating system image reported by the node.', { priority: 1 }),
    col('Kernel-Version', 'string', 'Kernel version reported by the node.', { priority: 1 }),
    col('Container-Runtime', 'string', 'Container runtime name and version reported by the node.', { priority: 1 }),
  ],
  row(node, now) {
    const ready = ((node.status?.conditions as Obj[] | undefined) ?? []).filter((c) => c?.type === 'Ready').pop();
    const status: string[] = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
    if (node.spec?.unschedulable === true) status.push('SchedulingDisabled');
    const info = node.status?.nodeInfo ?? {};
    return [
      nameOf(node),
      status.join(','),
      nodeRoles(node),
      age(node, now),
      str(info.kubeletVersion),
      nodeAddress(node, 'InternalIP'),
      nodeAddress(node, 'ExternalIP'),
      str(info.osImage) || '<unknown>',
      str(info.kernelVersion) || '<unknown>',
      str(info.containerRuntimeVersion) || '<unknown>',
    ];
  },
};

// ---------------------------------------------------------------- events

function formatEventSource(ev: Obj): string {
  const component = str(ev.source?.component) || str(ev.reportingController);
  const instance = str(ev.source?.host) || str(ev.reportingInstance);
  return instance ? `${component}, ${instance}` : component;
}

const eventPrinter: Printer = {
  columns: [
    col('Last Seen', 'string', 'Time since the event was last observed.'),
    col('Type', 'string', 'Event type: Normal or Warning.'),
    col('Reason', 'string', 'Short machine-readable reason for the event.'),
    col('Object', 'string', 'The object the event is about, as kind/name.'),
    col('Subobject', 'string', 'The part of the object the event is about (e.g. a container).', { priority: 1 }),
    col('Source', 'string', 'Component (and host) that reported the event.', { priority: 1 }),
    col('Message', 'string', 'Human-readable description of the event.'),
    col('First Seen', 'string', 'Time since the event was first observed.', { priority: 1 }),
    col('Count', 'string', 'How many times the event has occurred.', { priority: 1 }),
    col('Name', 'string', 'Name of the Event object.', { priority: 1, format: 'name' }),
  ],
  row(raw, now) {
    const ev = asCoreEvent(raw);
    let first = since(ev.firstTimestamp, now);
    if (parseTime(ev.firstTimestamp) === undefined) first = since(ev.eventTime, now);
    let last = parseTime(ev.lastTimestamp) === undefined ? first : since(ev.lastTimestamp, now);
    let count = int(ev.count);
    if (ev.series != null) {
      last = since(ev.series.lastObservedTime, now);
      count = int(ev.series.count);
    } else if (count === 0) {
      count = 1;
    }
    const io = ev.involvedObject ?? {};
    const kind = str(io.kind).toLowerCase();
    const target = io.name ? `${kind}/${str(io.name)}` : kind;
    return [last, str(ev.type), str(ev.reason), target, str(io.fieldPath), formatEventSource(ev), str(ev.message).trim(), first, count, nameOf(ev)];
  },
};

export const corePrinters: Record<string, Printer> = {
  '/services': servicePrinter,
  '/endpoints': endpointsPrinter,
  '/configmaps': configMapPrinter,
  '/secrets': secretPrinter,
  '/serviceaccounts': serviceAccountPrinter,
  '/namespaces': namespacePrinter,
  '/nodes': nodePrinter,
  '/events': eventPrinter,
  'events.k8s.io/events': eventPrinter,
};
