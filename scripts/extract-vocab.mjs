// Write the 32000 SentencePiece pieces of the LLaMA vocabulary (Moonshine's
// tokenizer), one per line in id order, from npm's llama-tokenizer-js.
//   node scripts/extract-vocab.mjs PATH/TO/llama-tokenizer.js OUT
// Pieces never hold a newline (byte 0x0A is the piece "<0x0A>").
import { readFileSync, writeFileSync } from "node:fs";

const [src, out] = process.argv.slice(2);
if (!src || !out) {
	console.error("usage: extract-vocab.mjs llama-tokenizer.js OUT");
	process.exit(2);
}
const text = readFileSync(src, "utf8");
const m = text.match(/const llama_vocab_base64 = "([A-Za-z0-9+/=]+)"/);
if (!m) {
	console.error("extract-vocab: no llama_vocab_base64 in " + src);
	process.exit(1);
}
const pieces = Buffer.from(m[1], "base64").toString("utf8").split("\n");
if (pieces.length !== 32000) {
	console.error(`extract-vocab: expected 32000 pieces, found ${pieces.length}`);
	process.exit(1);
}
writeFileSync(out, pieces.join("\n") + "\n");
