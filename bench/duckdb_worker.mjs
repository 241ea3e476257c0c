// bench/duckdb_worker.mjs — a DuckDB database for bench/duckbaseline.py.
//
//   node bench/duckdb_worker.mjs DB_PATH
//
// Reads one JSON request a line on stdin, answers one JSON line on stdout:
//   {"sql": "...", "params": {"cur": "USD", "d": 20000}}
//   -> {"rows": [[...], ...], "ms": 1.23}   or   {"error": "..."}
// Integers in params are bound as BIGINT; integers in rows (BIGINT, HUGEINT)
// come back as {"i": "digits"} so that none loses precision in JSON.
// Uses the DuckDB binary that ships inside the npm package @duckdb/node-api
// (bench/package.json; `npm install` in bench/).
import { DuckDBInstance } from '@duckdb/node-api';
import { createInterface } from 'node:readline';

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: node duckdb_worker.mjs DB_PATH\n');
  process.exit(2);
}
const instance = await DuckDBInstance.create(path);
const conn = await instance.connect();

function plain(v) {
  if (typeof v === 'bigint') return { i: v.toString() };
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(plain);
  return { s: v.toString() }; // DECIMAL, DATE, ... : their text
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const rl = createInterface({ input: process.stdin, terminal: false });
for await (const line of rl) {
  if (!line.trim()) continue;
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    out({ error: 'bad request: ' + e.message });
    continue;
  }
  if (req.op === 'quit') break;
  try {
    const params = {};
    for (const [k, v] of Object.entries(req.params || {})) {
      params[k] = Number.isInteger(v) ? BigInt(v) : v;
    }
    const t0 = process.hrtime.bigint();
    const reader = Object.keys(params).length
      ? await conn.runAndReadAll(req.sql, params)
      : await conn.runAndReadAll(req.sql);
    const rows = reader.getRows();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    out({ rows: rows.map((r) => r.map(plain)), ms });
  } catch (e) {
    out({ error: String(e && e.message ? e.message : e) });
  }
}
conn.closeSync();
instance.closeSync();
