// Runs sparql-http-client (npm) against a SPARQL endpoint and prints one JSON line per case.
// Usage: node client.mjs ENDPOINT_URL   (used by tests/clients/test_js_client.py and measure.py)
import ParsingClient from 'sparql-http-client/ParsingClient.js'

const endpointUrl = process.argv[2]
const NS = 'https://w3id.org/cytokg/'
const IL6 = NS + 'IL6'
const BINDS = NS + 'bindsReceptor'
const IL6R = NS + 'IL6R'
const QUERIES = {
  SELECT: `SELECT ?c WHERE { ?c a <${NS}Cytokine> } ORDER BY ?c`,
  ASK: `ASK { <${IL6}> <${BINDS}> <${IL6R}> }`,
  CONSTRUCT: `CONSTRUCT { ?c <${BINDS}> ?r } WHERE { ?c <${BINDS}> ?r }`,
  DESCRIBE: `DESCRIBE <${IL6}>`
}
const client = new ParsingClient({ endpointUrl })

function check (cond, message) {
  if (!cond) throw new Error(message)
}

function hasBinding (dataset) {
  for (const q of dataset) {
    if (q.subject.value === IL6 && q.predicate.value === BINDS && q.object.value === IL6R) return true
  }
  return false
}

async function run (form, operation) {
  const query = QUERIES[form]
  if (form === 'SELECT') {
    const rows = await client.query.select(query, { operation })
    check(rows.length === 3 && rows.some(r => r.c.value === IL6), `rows: ${JSON.stringify(rows)}`)
  } else if (form === 'ASK') {
    check(await client.query.ask(query, { operation }) === true, 'ASK was not true')
  } else {
    const dataset = await client.query.construct(query, { operation })
    check(hasBinding(dataset), `triple missing from ${dataset.size} quads`)
  }
}

for (const form of Object.keys(QUERIES)) {
  for (const operation of ['get', 'postUrlencoded', 'postDirect']) {
    const name = `${form} ${operation}`
    try {
      await run(form, operation)
      console.log(JSON.stringify({ case: name, ok: true }))
    } catch (err) {
      console.log(JSON.stringify({ case: name, ok: false, detail: String(err.message || err).slice(0, 300) }))
    }
  }
}
