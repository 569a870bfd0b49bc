// Prints the suite's result as one plain line, `N passed, N failed, N skipped`, from vitest's JSON
// report, and lists the failed and skipped tests above it so a CI log shows what ran.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-results/vitest.json';
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  console.log(`no test report at ${file}: ${err.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const failed = [];
const skipped = [];
for (const suite of report.testResults ?? []) {
  for (const t of suite.assertionResults ?? []) {
    if (t.status === 'failed') failed.push(`${suite.name}: ${t.fullName}`);
    else if (t.status === 'pending' || t.status === 'skipped' || t.status === 'todo') skipped.push(`${suite.name}: ${t.fullName}`);
  }
  // A file that fails to load has no assertions but a failed status.
  if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) failed.push(`${suite.name}: ${suite.message ?? 'failed to run'}`);
}
const cwd = process.cwd() + '/';
for (const s of skipped) console.log(`skipped: ${s.replace(cwd, '')}`);
for (const f of failed) console.log(`FAILED: ${f.replace(cwd, '')}`);
// vitest exits non-zero for errors outside any test too (e.g. a worker process that crashed),
// which its JSON report does not show; count that as a failure so the summary never reads green
// when the run was not.
const vitestExit = Number(process.argv[3] ?? 0);
if ((vitestExit !== 0 || report.success === false) && failed.length === 0) failed.push('vitest: errors outside tests (see "Unhandled Errors" above)');
for (const f of failed.slice(-1)) if (f.startsWith('vitest:')) console.log(`FAILED: ${f}`);
const passed = report.numPassedTests ?? 0;
console.log(`${passed} passed, ${failed.length} failed, ${skipped.length} skipped`);
process.exit(failed.length > 0 ? 1 : 0);
