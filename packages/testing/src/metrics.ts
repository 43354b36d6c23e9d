/**
 * Reading a service's metrics in tests the way Prometheus does: from its operations listener,
 * opened on a free loopback port when the test has not opened it yet (build() never listens).
 */

/** The part of an app's `metrics` decoration (@keygate/service-kit) this needs. */
export interface ScrapableApp {
  metrics: { url: string | undefined; listen(options: { host: string; port: number }): Promise<string> };
}

/** The Prometheus text of `app`'s operations listener. */
export async function scrapeMetrics(app: ScrapableApp): Promise<string> {
  const base = app.metrics.url ?? (await app.metrics.listen({ host: '127.0.0.1', port: 0 }));
  const response = await fetch(`${base}/metrics`);
  if (response.status !== 200) throw new Error(`GET ${base}/metrics answered ${response.status}`);
  return response.text();
}
