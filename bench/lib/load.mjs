// Load generation with autocannon, in this process (pin it with `taskset -c 1 node …`), plus the
// median-of-runs helper every benchmark reports with.
import autocannon from 'autocannon'

/** One bounded run: returns requests/s, p99 latency (ms) and the non-2xx count. */
export async function load({ url, headers = {}, method = 'GET', body, connections = 50, seconds = 5, requests }) {
  const result = await autocannon({
    url,
    method,
    headers,
    body,
    connections,
    duration: seconds,
    ...(requests && { requests }),
  })
  return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx + result.errors, total: result.requests.total }
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/** Prints the one JSON line a benchmark reports. */
export function report(name, figures) {
  console.log(JSON.stringify({ benchmark: name, ...figures }))
}
