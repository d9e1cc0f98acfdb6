import { mean } from "./math.ts";

const xs = process.argv.slice(2).map(Number);
console.log(`mean of ${xs.join(", ")} is ${mean(xs)}`);
