// The services manifest loader: the committed services.json is valid, and a bad entry is refused
// with one line naming the entry and the field, before any service starts from it.
import { test } from 'tap';
import { gatewayUpstreams, parseServicesManifest, serviceEntry, servicesManifest } from '../src/index.js';

const entry = { name: 'billing', port: 8084, metricsPort: 9084, routes: [], migrations: false, trustProxy: false, dockerTarget: 'billing', k8s: 'template', replicas: 1 };
const gateway = { ...entry, name: 'gateway', port: 8080, metricsPort: 9080, dockerTarget: 'gateway' };

test('services.json is valid, in start order, with derived names', async (t) => {
  const services = servicesManifest();
  t.same(services.map((service) => service.name), ['auth', 'orders', 'notifications', 'gateway'], 'auth first (the gateway loads its JWKS from it), the gateway last');
  t.same(
    gatewayUpstreams().map((service) => [service.name, service.upstreamSetting]),
    [['auth', 'AUTH_URL'], ['orders', 'ORDERS_URL'], ['notifications', 'NOTIFICATIONS_URL']],
    'the services behind the gateway and their settings',
  );
  t.equal(serviceEntry('orders').portSetting, 'ORDERS_PORT');
  t.equal(serviceEntry('orders').entryPoint, 'services/orders/dist/main.js');
  t.ok(Object.isFrozen(services) && Object.isFrozen(services[0]) && Object.isFrozen(services[0]?.routes[0]), 'read-only: every reader shares it');
  t.throws(() => serviceEntry('billing'), /no service "billing"/);
});

test('a minimal manifest is accepted, and a service name becomes its settings', async (t) => {
  const parsed = parseServicesManifest({ $comment: 'why', services: [{ ...entry, name: 'order-history' }, gateway] });
  t.equal(parsed[0]?.portSetting, 'ORDER_HISTORY_PORT');
  t.equal(parsed[0]?.upstreamSetting, undefined);
});

test('a bad manifest is refused with one line naming the entry and field', async (t) => {
  const route = { prefix: '/billing', auth: 'required' };
  const cases: Array<[unknown, RegExp]> = [
    [[], /^must be a JSON object with a "services" array$/],
    [{ services: [] }, /^services must be a non-empty array$/],
    [{ services: [entry, gateway], extra: 1 }, /^has an unknown field "extra"$/],
    [{ services: [{ ...entry, port: 8080 }, gateway] }, /^port 8080 is used twice$/],
    [{ services: [{ ...entry, metricsPort: 8084 }, gateway] }, /^port 8084 is used twice$/],
    [{ services: [entry, entry, gateway] }, /^name billing is used twice$/],
    [{ services: [{ ...entry, port: 70_000 }, gateway] }, /^service billing: port must be a port between 1 and 65535$/],
    [{ services: [{ ...entry, routes: [route] }, gateway] }, /^service billing: upstreamSetting and routes go together$/],
    [{ services: [{ ...entry, upstreamSetting: 'BILLING_URL' }, gateway] }, /^service billing: upstreamSetting and routes go together$/],
    [{ services: [{ ...entry, upstreamSetting: 'BILLING', routes: [route] }, gateway] }, /^service billing: upstreamSetting must be a setting name ending in _URL$/],
    [{ services: [{ ...entry, routes: ['/billing'] }, gateway] }, /^service billing: routes must be an array of route objects$/],
    [{ services: [{ ...entry, replica: 2 }, gateway] }, /^service billing has an unknown field "replica"$/],
    [{ services: [{ ...entry, replicas: 0 }, gateway] }, /^service billing: replicas must be a whole number from 1 to 10$/],
    [{ services: [{ ...entry, k8s: 'helm' }, gateway] }, /^service billing: k8s must be "own" or "template"$/],
    [{ services: [{ ...entry, migrations: 'yes' }, gateway] }, /^service billing: migrations must be true or false$/],
    // The name becomes a path (services/<name>/dist) and a Dockerfile target: never a traversal.
    [{ services: [{ ...entry, name: '../x' }, gateway] }, /^services\[0\]\.name must be a lower-case name/],
    [{ services: [{ ...entry, dockerTarget: 'a b' }, gateway] }, /^service billing: dockerTarget must be a stage name$/],
    [{ services: [entry] }, /a "gateway" entry without routes is required/],
    [{ services: [entry, { ...gateway, upstreamSetting: 'GATEWAY_URL', routes: [route] }] }, /a "gateway" entry without routes is required/],
  ];
  for (const [manifest, message] of cases) t.throws(() => parseServicesManifest(manifest), { message }, String(message));
});
