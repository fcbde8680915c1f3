import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The benchmark text shared with Magma.Benchmarks (bench/assets/english.txt, ~100 KB of English). */
export function benchmarkText() {
  return readFileSync(fileURLToPath(new URL("../assets/english.txt", import.meta.url)), "utf8");
}
