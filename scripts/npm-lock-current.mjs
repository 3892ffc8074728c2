// Exit 0 when node_modules holds exactly the packages package-lock.json
// names (npm records what it installed in node_modules/.package-lock.json),
// 1 otherwise. Run from the repository's root by scripts/install-deps.
// Optional packages are skipped: those for other platforms are never installed.
import fs from 'node:fs';

function packages(path) {
	return JSON.parse(fs.readFileSync(path, 'utf8')).packages ?? {};
}

let lock, installed;
try {
	lock = packages('package-lock.json');
	installed = packages('node_modules/.package-lock.json');
} catch {
	process.exit(1);
}
for (const [name, p] of Object.entries(lock)) {
	if (name === '' || p.optional) continue;
	if (installed[name]?.version !== p.version) {
		console.error(`npm-lock-current: ${name} ${p.version} is not installed`);
		process.exit(1);
	}
}
for (const name of Object.keys(installed)) {
	if (!(name in lock)) {
		console.error(`npm-lock-current: ${name} is installed but not in package-lock.json`);
		process.exit(1);
	}
}
