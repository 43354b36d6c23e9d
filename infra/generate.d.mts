/** Types for generate.mjs (imported by tests/scale/agreement.test.ts). */
/** docker-compose.yml's instance names of a manifest service: `<name>-1`, … when replicated, else `<name>`. */
export declare function composeInstances(service: { name: string; replicas: number }): string[];
/** Every file generated from services.json: repository-relative path → its content. */
export declare function generatedFiles(): Record<string, string>;
