/** Types for generate.mjs (imported by tests/scale/agreement.test.ts). */
/** docker-compose.yml's instance names of a manifest service: `<name>-1`, … when replicated, else `<name>`. */
export declare function composeInstances(service: { name: string; replicas: number }): string[];
/** Every file generated from services.json: repository-relative path → its content. */
export declare function generatedFiles(): Record<string, string>;
/** infra/Dockerfile from its template: `readOwnStage(name)` is a service's own stage (services/<name>/Dockerfile.stage), if any. */
export declare function renderDockerfile(
  services: { name: string; port: number; metricsPort: number; dockerTarget: string }[],
  template: string,
  readOwnStage: (name: string) => string | undefined,
): string;
