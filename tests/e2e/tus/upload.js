// Uploads one file to a Sened hub with tus-js-client over mutual TLS, stops
// part way, and resumes the same upload from the offset the hub reports.
//
// Environment: SENED_URL (https://127.0.0.1:PORT), SENED_CERT, SENED_KEY,
// SENED_CA (PEM files of the participant and the hub's CA), SENED_FILE (the
// file to send), SENED_CHUNK (bytes per PATCH, default 1 MiB).
// Prints one JSON line: {"upload":ID,"url":…,"paused_at":N,"resumed_from":N}.
// Exits 1 with the error on stderr if anything fails.
'use strict'

const fs = require('fs')
const path = require('path')
const tus = require('tus-js-client')

function env(name) {
  const value = process.env[name]
  if (!value) {
    console.error(`missing environment variable ${name}`)
    process.exit(2)
  }
  return value
}

const hub = env('SENED_URL')
const file = fs.readFileSync(env('SENED_FILE'))
const chunkSize = Number(process.env.SENED_CHUNK || 1024 * 1024)

// tus-js-client's Node stack passes these to https.request: the client
// certificate is how the hub knows the participant.
const httpStack = new tus.DefaultHttpStack({
  cert: fs.readFileSync(env('SENED_CERT')),
  key: fs.readFileSync(env('SENED_KEY')),
  ca: fs.readFileSync(env('SENED_CA')),
})

function options(extra) {
  return {
    endpoint: `${hub}/v1/uploads`,
    httpStack,
    chunkSize,
    retryDelays: [0, 200, 1000, 3000],
    metadata: { filename: path.basename(env('SENED_FILE')), filetype: 'application/octet-stream' },
    ...extra,
  }
}

// First pass: stop once at least two chunks are on the hub.
function firstPass() {
  return new Promise((resolve, reject) => {
    let stopped = false
    const upload = new tus.Upload(
      file,
      options({
        onError: reject,
        onSuccess: () => resolve({ url: upload.url, pausedAt: file.length }),
        onChunkComplete: (_size, accepted, total) => {
          if (stopped || accepted < 2 * chunkSize || accepted >= total) return
          stopped = true
          upload.abort().then(() => resolve({ url: upload.url, pausedAt: accepted }), reject)
        },
      }),
    )
    upload.start()
  })
}

// Second pass: a new Upload for the same URL asks the hub (HEAD) where to go on.
function resume(url) {
  return new Promise((resolve, reject) => {
    let resumedFrom = null
    const upload = new tus.Upload(
      file,
      options({
        uploadUrl: url,
        onError: reject,
        onBeforeRequest: (req) => {
          if (req.getMethod() === 'PATCH' && resumedFrom === null) {
            resumedFrom = Number(req.getHeader('Upload-Offset'))
          }
        },
        onSuccess: () => resolve(resumedFrom),
      }),
    )
    upload.start()
  })
}

async function main() {
  const first = await firstPass()
  const resumedFrom = await resume(first.url)
  const id = first.url.split('/').pop()
  console.log(
    JSON.stringify({ upload: id, url: first.url, paused_at: first.pausedAt, resumed_from: resumedFrom }),
  )
}

main().catch((err) => {
  console.error(String(err && err.stack ? err.stack : err))
  process.exit(1)
})
