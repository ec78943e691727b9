/** Environment variables where the platform allows reading them (undefined otherwise). */
export function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}
