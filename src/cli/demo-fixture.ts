/**
 * The demo's data: what a coding agent would remember after three months on one software project ("Ledgerly", an
 * invoicing backend), two workstreams of conversation, and the questions the demo asks.
 *
 * @since 0.1.0
 */
import type { ConfidenceSource, ContentType } from "../Memory.js"
import type { MessageRole } from "../Workstream.js"

/** One memory of the fixture; `daysAgo` places it in time relative to when the demo runs. @category models */
export interface DemoMemory {
  readonly contentType: ContentType
  readonly source: ConfidenceSource
  readonly content: string
  readonly tags: ReadonlyArray<string>
  readonly daysAgo: number
  readonly sourcePath?: string
  readonly lineRange?: readonly [number, number]
  readonly sourceUrl?: string
  readonly toolName?: string
}

/** A fact that changed over time: each step supersedes the one before (stored with `storeFact`). @category models */
export interface DemoFactChain {
  readonly subject: string
  readonly predicate: string
  readonly tags: ReadonlyArray<string>
  readonly steps: ReadonlyArray<{ readonly object: string; readonly daysAgo: number; readonly source: ConfidenceSource }>
}

type Row = readonly [daysAgo: number, tags: string, content: string]

const rows = (
  contentType: ContentType,
  source: ConfidenceSource,
  list: ReadonlyArray<Row>
): Array<DemoMemory> =>
  list.map(([daysAgo, tags, content]) => ({ contentType, source, content, daysAgo, tags: tags.split(",").filter((t) => t !== "") }))

const notes: ReadonlyArray<Row> = [
  [88, "architecture", "Ledgerly is a multi-tenant invoicing backend: Fastify HTTP API, PostgreSQL for data, Redis for queues and rate limits"],
  [87, "architecture", "Every table carries a tenant_id column and every query goes through the tenantScope() helper in src/db/tenant.ts"],
  [86, "conventions", "Money is stored as integer minor units (cents) with a currency code; never use floating point for amounts"],
  [85, "conventions", "Route handlers validate input with zod schemas that live next to the route in src/routes/<name>/schema.ts"],
  [84, "conventions", "Errors returned by the API use RFC 7807 problem+json bodies with a stable `type` URI per error kind"],
  [83, "testing", "Integration tests spin up a throwaway PostgreSQL schema per test file and drop it in afterAll"],
  [82, "testing", "Run the unit tests with `npm test`; integration tests need `docker compose up -d db redis` first and run with `npm run test:int`"],
  [80, "ci", "CI runs on GitHub Actions: lint, typecheck, unit tests, then integration tests against service containers"],
  [79, "deploy", "Releases are tagged vX.Y.Z on main; the deploy workflow builds the Docker image and rolls it out"],
  [78, "billing", "Invoices move through draft -> issued -> paid | void; only drafts may be edited"],
  [77, "billing", "Invoice numbers are sequential per tenant and allocated inside the issuing transaction with SELECT ... FOR UPDATE"],
  [76, "billing", "Tax is computed per line item, rounded half-even, then summed; the total is never recomputed from rounded subtotals"],
  [75, "queues", "Background jobs use BullMQ: send-invoice-email, generate-pdf, sync-stripe-payments, nightly-dunning"],
  [74, "queues", "Jobs must be idempotent: every job carries an idempotency key stored in the job_runs table"],
  [73, "security", "API keys are hashed with SHA-256 and compared in constant time; the raw key is shown only once at creation"],
  [72, "observability", "Logs are JSON via pino; every request log line carries request_id and tenant_id"],
  [70, "observability", "Traces go to Honeycomb through the OpenTelemetry SDK; sampling is 10% except for errors which are always kept"],
  [68, "performance", "The invoice list endpoint paginates with keyset cursors on (issued_at, id), never OFFSET"],
  [66, "dependencies", "The team pins exact dependency versions and updates them weekly with Renovate"],
  [64, "payments", "Stripe webhooks are verified with the signing secret and deduplicated by event id in stripe_events"],
  [60, "payments", "Refunds are recorded as negative payments linked to the original payment, not as edits"],
  [58, "pdf", "Invoice PDFs are rendered with Playwright from an HTML template and cached in S3 by invoice id and version"],
  [55, "email", "Transactional email goes through Postmark; bounces are fed back through a webhook that marks the contact"],
  [52, "onboarding", "New tenants get a default tax profile, the EUR currency and a sample draft invoice"],
  [48, "performance", "The dashboard summary query was moved to a materialized view refreshed every 5 minutes"],
  [45, "api", "Public API v1 is frozen; breaking changes go to /v2 routes behind the api_v2 feature flag"],
  [40, "deploy", "Database migrations run as a separate release step before new instances take traffic"],
  [36, "testing", "Property tests with fast-check cover the tax rounding and currency conversion functions"],
  [30, "ci", "The integration test job caches the Playwright browsers; a cache miss adds about four minutes"],
  [26, "incidents", "Postmortem: duplicate invoice emails on 2 March were caused by a retried job without an idempotency key"],
  [21, "security", "Tenant admins can rotate API keys; old keys keep working for 24 hours after rotation"],
  [18, "performance", "Connection pool size is 20 per instance; PgBouncer in transaction mode sits in front of PostgreSQL"],
  [14, "api", "Rate limits are 600 requests per minute per API key, enforced with a Redis sliding window"],
  [10, "incidents", "Postmortem: the 12 March deploy failed because a migration added a NOT NULL column without a default on a large table"],
  [7, "roadmap", "Next quarter: multi-currency invoices, credit notes, and a customer portal"],
  [3, "ci", "Flaky test: invoices.int.test.ts 'issues numbers in order' fails about 1 in 30 runs under parallel workers"],
  [2, "ci", "The flaky numbering test passes reliably with --pool=forks; suspected shared sequence across test schemas"]
]

const files: ReadonlyArray<readonly [daysAgo: number, path: string, lines: readonly [number, number], content: string]> = [
  [86, "src/server.ts", [1, 60], "buildServer() registers plugins in order: requestId, logger, auth, rateLimit, routes, errorHandler"],
  [85, "src/db/tenant.ts", [1, 42], "tenantScope(tx, tenantId) sets app.tenant_id with SET LOCAL so row-level security policies apply"],
  [84, "src/db/pool.ts", [1, 30], "createPool() reads DATABASE_URL, sets statement_timeout to 5s and max connections to 20"],
  [83, "src/routes/invoices/create.ts", [1, 88], "POST /invoices creates a draft invoice; line items are validated and totals computed server-side"],
  [83, "src/routes/invoices/issue.ts", [1, 64], "POST /invoices/:id/issue allocates the next invoice number and enqueues generate-pdf and send-invoice-email"],
  [82, "src/routes/invoices/schema.ts", [1, 120], "zod schemas for invoice create/update: currency is ISO 4217, quantities are positive decimals as strings"],
  [81, "src/billing/tax.ts", [1, 95], "computeTax(lines, profile) applies per-line rates with half-even rounding and returns minor units"],
  [81, "src/billing/money.ts", [1, 70], "Money type: { amount: bigint, currency }; add/subtract refuse mixed currencies"],
  [80, "src/billing/numbering.ts", [1, 48], "nextInvoiceNumber(tx, tenantId) locks the tenant's counter row FOR UPDATE and increments it"],
  [79, "src/jobs/sendInvoiceEmail.ts", [1, 77], "send-invoice-email job: loads the invoice, renders the email, sends with Postmark, records the message id"],
  [79, "src/jobs/generatePdf.ts", [1, 66], "generate-pdf job renders the invoice HTML with Playwright and uploads the PDF to S3"],
  [78, "src/jobs/syncStripePayments.ts", [1, 90], "sync-stripe-payments pulls recent PaymentIntents and reconciles them with open invoices"],
  [77, "src/jobs/dunning.ts", [1, 81], "nightly-dunning emails reminders for invoices overdue by 7, 14 and 30 days"],
  [76, "src/auth/apiKey.ts", [1, 55], "API key auth: hash the presented key, look it up by hash, compare with timingSafeEqual"],
  [75, "src/auth/session.ts", [1, 62], "Dashboard sessions: signed cookies with a 12 hour lifetime, refreshed on activity"],
  [74, "src/plugins/rateLimit.ts", [1, 58], "Rate limit plugin: Redis sliding window keyed by API key, 600 requests per minute"],
  [73, "src/plugins/errorHandler.ts", [1, 47], "Error handler maps domain errors to problem+json with status, type, title and detail"],
  [72, "src/webhooks/stripe.ts", [1, 73], "Stripe webhook route verifies the signature, stores the event id, then dispatches by event type"],
  [70, "migrations/0001_init.sql", [1, 140], "Initial schema: tenants, customers, invoices, invoice_lines, payments, api_keys"],
  [65, "migrations/0007_job_runs.sql", [1, 22], "job_runs table with a unique idempotency_key and the job's result JSON"],
  [60, "docker-compose.yml", [1, 40], "docker compose services: db (postgres:16), redis (redis:7), mailhog for local email"],
  [58, ".github/workflows/ci.yml", [1, 96], "CI workflow: matrix on Node 20 and 22, service containers for postgres and redis, caches npm and Playwright"],
  [57, ".github/workflows/deploy.yml", [1, 70], "Deploy workflow: on tag push, build image, run migrations with the release command, then deploy"],
  [55, "fly.toml", [1, 45], "fly.toml: two regions (ams, iad), health check on /healthz, release_command runs migrations"],
  [50, "src/reports/dashboard.sql", [1, 35], "Materialized view dashboard_summary: revenue by month, outstanding and overdue totals per tenant"],
  [44, "src/routes/v2/invoices.ts", [1, 110], "v2 invoices API behind the api_v2 flag: cursor pagination and expandable line items"],
  [38, "migrations/0012_credit_notes.sql", [1, 30], "Draft migration for credit notes, not yet applied anywhere"],
  [33, "test/invoices.int.test.ts", [1, 210], "Integration tests for invoice issuing: numbering order, PDF enqueue, email enqueue, void rules"],
  [28, "test/tax.property.test.ts", [1, 64], "fast-check properties: tax is never negative, rounding error is at most half a minor unit per line"],
  [12, "migrations/0015_customer_vat.sql", [1, 18], "Adds customers.vat_number as nullable first, backfills, then sets NOT NULL in a later migration"],
  [5, "vitest.config.ts", [1, 25], "vitest config: unit and int projects; int project uses pool forks and a global setup creating schemas"]
]

const tools: ReadonlyArray<readonly [daysAgo: number, tool: string, content: string]> = [
  [84, "shell", "Ran `npm test`: 412 unit tests passed in 18s"],
  [83, "shell", "Ran `docker compose up -d db redis` then `npm run test:int`: 96 integration tests passed in 2m10s"],
  [80, "shell", "Ran `npx tsc --noEmit`: 0 errors"],
  [77, "shell", "Ran `npm run lint`: 3 warnings about unused imports in src/jobs"],
  [71, "shell", "Ran `psql -c 'explain analyze select * from invoices where tenant_id = $1 order by issued_at desc limit 50'`: index scan, 1.8ms"],
  [69, "read_file", "Read src/billing/tax.ts to check the rounding mode: half-even via Math.round on scaled bigint"],
  [67, "shell", "Ran `npm run test:int -- invoices`: 21 passed"],
  [63, "web_fetch", "Fetched the Stripe webhook docs to confirm the signature header name Stripe-Signature"],
  [61, "shell", "Ran `fly deploy --strategy rolling`: release v1.8.0 deployed to ams and iad"],
  [56, "shell", "Ran `npm run bench:pdf`: median PDF render 420ms, p95 910ms"],
  [53, "grep", "Searched for `OFFSET` in src/: no matches after the keyset pagination change"],
  [47, "shell", "Ran `fly deploy`: release v1.9.0 deployed; health checks green"],
  [43, "shell", "Ran `npm outdated`: fastify 4.26 -> 4.28, pino 8 -> 9 (major), zod up to date"],
  [39, "shell", "Ran `npm run test:int`: 1 failure in invoices.int.test.ts 'issues numbers in order' (expected 1042, got 1043)"],
  [35, "shell", "Re-ran `npm run test:int`: all 104 passed; the numbering failure did not reproduce"],
  [31, "read_file", "Read .github/workflows/ci.yml: integration job runs vitest with 4 threads"],
  [24, "shell", "Ran `fly deploy`: release v1.10.0 failed at release_command; migration 0014 timed out after 5 minutes"],
  [24, "shell", "Ran `fly releases`: v1.10.0 marked failed, traffic still on v1.9.0"],
  [23, "shell", "Ran the migration on a staging copy: ALTER TABLE customers ADD COLUMN vat_number text NOT NULL rewrote 2.1M rows"],
  [22, "shell", "Ran `fly deploy` with migration 0015 (nullable column + backfill): v1.10.1 deployed in 3 minutes"],
  [16, "shell", "Ran `npm run test:int -- --pool=forks` 30 times: 30 passes"],
  [15, "shell", "Ran `npm run test:int` with threads 30 times: 1 failure in 'issues numbers in order'"],
  [9, "shell", "Ran `npm test`: 455 unit tests passed in 21s"],
  [8, "grep", "Searched for `nextval('invoice_number` in test/: the test schemas share one sequence created in global setup"],
  [6, "shell", "Ran `npm run test:int` after giving each test schema its own counter table: 50 runs, 0 failures"],
  [4, "shell", "Ran `fly deploy`: release v1.11.0 deployed; dunning job schedule moved to 06:00 UTC"],
  [1, "shell", "Ran `npm run typecheck && npm test`: clean"]
]

const conversation: ReadonlyArray<readonly [daysAgo: number, role: "user" | "assistant", content: string]> = [
  [88, "user", "I'd like you to help maintain Ledgerly. Start by reading the README and the src/ layout."],
  [88, "assistant", "Read the README and src/: Fastify API, PostgreSQL with row-level security per tenant, BullMQ jobs."],
  [81, "user", "Always run the typecheck before you tell me something is done."],
  [81, "assistant", "Understood: I'll run `npx tsc --noEmit` and the unit tests before reporting a change as done."],
  [74, "user", "Please don't touch the v1 API shapes, customers integrate against them."],
  [74, "assistant", "Noted: v1 is frozen; any breaking change goes to /v2 behind the api_v2 flag."],
  [69, "user", "Can you check why invoice totals are off by one cent for some Swiss tenants?"],
  [69, "assistant", "Totals were recomputed from rounded subtotals in the PDF template; fixed to use the stored total."],
  [60, "user", "We're moving hosting to Fly.io next week."],
  [60, "assistant", "I'll prepare fly.toml with two regions and a release_command for migrations."],
  [47, "user", "The dashboard is slow for big tenants."],
  [47, "assistant", "The summary query scans all invoices; a materialized view refreshed every 5 minutes brings it to 30ms."],
  [39, "user", "The integration tests failed on main again, can you look?"],
  [39, "assistant", "One failure in the numbering test; it passed on re-run. I'll track it as flaky."],
  [24, "user", "The deploy is stuck, what happened?"],
  [24, "assistant", "Migration 0014 added a NOT NULL column to customers and rewrote 2.1M rows; the release command timed out."],
  [23, "user", "How do we avoid that next time?"],
  [23, "assistant", "Add the column as nullable, backfill in batches, then add the NOT NULL constraint in a later migration."],
  [16, "user", "Is the numbering test still flaky?"],
  [16, "assistant", "Yes with threads, never with forks: the test schemas share one sequence. I'll give each schema its own counter."],
  [7, "user", "Let's plan multi-currency invoices for next quarter."],
  [7, "assistant", "Drafted a plan: per-invoice currency, FX rate snapshot at issue time, reports converted to the tenant currency."],
  [3, "user", "Remember that I prefer small pull requests, one concern each."],
  [3, "assistant", "Will do: one concern per pull request, with the tests in the same change."]
]

const web: ReadonlyArray<readonly [daysAgo: number, url: string, content: string]> = [
  [80, "https://fastify.dev/docs/latest/Reference/Plugins/", "Fastify plugins are encapsulated; use fastify-plugin to share decorators with the parent scope"],
  [76, "https://www.postgresql.org/docs/16/ddl-rowsecurity.html", "PostgreSQL row security policies apply per command; table owners bypass them unless FORCE ROW LEVEL SECURITY"],
  [72, "https://docs.bullmq.io/guide/jobs/job-ids", "BullMQ deduplicates jobs by custom job id while the job exists in the queue"],
  [66, "https://stripe.com/docs/webhooks", "Stripe may deliver webhook events more than once and out of order; handlers must be idempotent"],
  [62, "https://fly.io/docs/reference/configuration/", "fly.toml release_command runs in a temporary machine before the new version is deployed"],
  [54, "https://postmarkapp.com/developer/webhooks/bounce-webhook", "Postmark bounce webhooks report hard bounces with Type HardBounce; the address should be suppressed"],
  [46, "https://www.postgresql.org/docs/16/sql-altertable.html", "Adding a column with a volatile default or NOT NULL without default rewrites the whole table"],
  [41, "https://vitest.dev/config/#pool", "vitest pool threads shares module state per worker; forks isolates each test file in a child process"],
  [34, "https://opentelemetry.io/docs/concepts/sampling/", "Tail sampling keeps whole traces based on their outcome, e.g. keep all traces with errors"],
  [20, "https://www.pgbouncer.org/features.html", "PgBouncer transaction pooling breaks session state: SET without LOCAL and advisory session locks"],
  [11, "https://en.wikipedia.org/wiki/ISO_4217", "ISO 4217 minor units: JPY has 0 decimals, EUR 2, KWD 3"],
  [6, "https://docs.stripe.com/currencies", "Stripe zero-decimal currencies take amounts in the major unit, e.g. 500 JPY is 500"]
]

const thoughts: ReadonlyArray<Row> = [
  [82, "testing", "The integration tests would be faster with one schema per worker instead of one per file"],
  [70, "performance", "The PDF cache key should include the template version, or a template change serves stale PDFs"],
  [59, "payments", "If sync-stripe-payments and the webhook both record a payment we could double count; check the unique constraint"],
  [44, "api", "v2 pagination could reuse the keyset cursor helper from the invoice list"],
  [37, "ci", "The numbering flake might be a race between two test files sharing a sequence"],
  [25, "deploy", "Migrations that rewrite big tables should be caught in CI by running them against a production-sized copy"],
  [13, "security", "The API key rotation grace period should be configurable per tenant"],
  [5, "roadmap", "Multi-currency needs the Money type to carry the currency's minor unit count, not assume 2"],
  [2, "ci", "Could add a CI check that fails when a migration adds NOT NULL without a default"]
]

const summaries: ReadonlyArray<Row> = [
  [81, "summary", "Week 1: learned the architecture, set conventions (typecheck before done, zod schemas, problem+json)"],
  [60, "summary", "Moved hosting from Heroku to Fly.io with two regions and migrations as a release step"],
  [46, "summary", "Dashboard sped up with a materialized view; invoice list moved to keyset pagination"],
  [23, "summary", "Deploy incident: NOT NULL column migration rewrote customers and timed out; fixed with nullable + backfill"],
  [6, "summary", "Fixed the flaky numbering test by giving each test schema its own counter; 50 green runs"]
]

const endpoints: ReadonlyArray<readonly [daysAgo: number, route: string, content: string]> = [
  [83, "GET /invoices", "lists invoices newest first with keyset cursor, filters by status and customer"],
  [83, "GET /invoices/:id", "returns one invoice with line items; 404 problem+json when it belongs to another tenant"],
  [82, "PATCH /invoices/:id", "edits a draft invoice; 409 invoice-not-editable once issued"],
  [82, "POST /invoices/:id/void", "voids an issued unpaid invoice and enqueues a void notice email"],
  [81, "GET /invoices/:id/pdf", "redirects to a signed S3 URL valid for 5 minutes, generating the PDF if missing"],
  [80, "POST /customers", "creates a customer; email is unique per tenant, case-insensitive"],
  [80, "GET /customers", "lists customers with search by name or email prefix"],
  [79, "POST /payments", "records a manual payment (bank transfer) against an issued invoice"],
  [78, "POST /api-keys", "creates an API key and returns the raw key once"],
  [78, "DELETE /api-keys/:id", "revokes an API key immediately, no grace period"],
  [76, "GET /healthz", "checks PostgreSQL and Redis connectivity; used by the Fly health check"],
  [71, "POST /webhooks/stripe", "Stripe webhook receiver; responds 200 quickly and processes asynchronously"],
  [65, "POST /webhooks/postmark", "Postmark bounce and spam complaint receiver"],
  [52, "GET /reports/revenue", "monthly revenue per currency, from the dashboard_summary materialized view"],
  [44, "GET /v2/invoices", "v2 list with expandable line items and cursor pagination, behind api_v2"],
  [20, "POST /api-keys/:id/rotate", "rotates a key; the old key keeps working for 24 hours"]
]

const support: ReadonlyArray<Row> = [
  [79, "support", "Tenant acme-gmbh needs invoices in German; the template supports locale de-DE since v1.4"],
  [73, "support", "Tenant northwind reported emails landing in spam; fixed by adding DKIM for their custom sender domain"],
  [67, "support", "Swiss tenants need CHF rounding to 0.05; implemented as a per-currency cash rounding rule"],
  [62, "support", "Tenant brightside imports 5k customers per month through the CSV importer; it must stay under 60s"],
  [57, "support", "Customers asked for a payment link on the invoice PDF; it links to a Stripe Checkout session"],
  [49, "support", "Tenant acme-gmbh hit the rate limit during a bulk import; advised batching with 10 requests per second"],
  [42, "support", "Some tenants send invoices with 200+ line items; PDF rendering stays under 2 seconds for those"],
  [35, "support", "Tenant orbit-labs asked for credit notes; added to next quarter's roadmap"],
  [27, "support", "Dunning emails for tenant northwind go out in their timezone since v1.9.2"],
  [19, "support", "A tenant's webhook endpoint returned 500s for a day; Stripe retried and no payments were lost"],
  [12, "support", "Tenant brightside needs VAT numbers on customer records for EU reverse charge"],
  [4, "support", "Tenant orbit-labs asked whether API v1 will be removed; answer: not before 2027"]
]

const dependencies: ReadonlyArray<Row> = [
  [75, "dependencies", "fastify 4.28 and @fastify/rate-limit are used; the rate limit store is a custom Redis sliding window"],
  [70, "dependencies", "zod 3.23 validates all request bodies; response schemas are not validated at runtime"],
  [66, "dependencies", "pino 9 upgrade is blocked on pino-pretty for local development"],
  [61, "dependencies", "playwright is pinned to the version whose Chromium the Docker image ships"],
  [54, "dependencies", "bullmq 5 requires Redis 6.2+; production runs Redis 7 on Upstash"],
  [43, "dependencies", "node-postgres (pg) 8.11 with pg-cursor for the CSV export stream"],
  [29, "dependencies", "Renovate groups all @opentelemetry packages into one weekly pull request"],
  [9, "dependencies", "stripe-node is pinned to API version 2024-06-20 to keep webhook payload shapes stable"]
]

const decisions: ReadonlyArray<Row> = [
  [86, "decision", "Decision: no ORM; SQL lives in src/db/queries/*.sql and is loaded with typed wrappers"],
  [84, "decision", "Decision: UUIDv7 primary keys for invoices and payments so ids sort by creation time"],
  [78, "decision", "Decision: emails are sent only from jobs, never inline in a request"],
  [71, "decision", "Decision: all timestamps are timestamptz in UTC; tenant timezones apply only when rendering"],
  [65, "decision", "Decision: feature flags live in the tenants.flags JSONB column, read once per request"],
  [59, "decision", "Decision: Redis is a cache and a queue, never the source of truth for billing data"],
  [51, "decision", "Decision: PDFs are immutable once issued; a correction produces a new invoice version"],
  [45, "decision", "Decision: /v2 responses use cursor pagination exclusively"],
  [33, "decision", "Decision: integration tests may not share database objects across test files"],
  [22, "decision", "Decision: every migration that rewrites a table over 100k rows needs a staging dry run"],
  [15, "decision", "Decision: CI runs integration tests with vitest forks"],
  [8, "decision", "Decision: multi-currency invoices snapshot the FX rate at issue time"],
  [5, "decision", "Decision: credit notes are separate documents referencing the invoice, numbered in their own series"],
  [1, "decision", "Decision: the nightly dunning job runs at 06:00 UTC"]
]

/** The memories stored with `storeMany`. @category fixtures */
export const memories: ReadonlyArray<DemoMemory> = [
  ...rows("note", "stated", notes),
  ...files.map(([daysAgo, path, lineRange, content]): DemoMemory => ({
    contentType: "file_content",
    source: "observed",
    content: `${path}: ${content}`,
    daysAgo,
    tags: ["code"],
    sourcePath: path,
    lineRange
  })),
  ...tools.map(([daysAgo, tool, content]): DemoMemory => ({
    contentType: "tool_use",
    source: "observed",
    content,
    daysAgo,
    tags: ["tool"],
    toolName: tool
  })),
  ...conversation.map(([daysAgo, role, content]): DemoMemory => ({
    contentType: role === "user" ? "user_message" : "assistant_message",
    source: role === "user" ? "stated" : "inferred",
    content,
    daysAgo,
    tags: ["conversation"]
  })),
  ...web.map(([daysAgo, url, content]): DemoMemory => ({
    contentType: "web_content",
    source: "observed",
    content,
    daysAgo,
    tags: ["research"],
    sourceUrl: url
  })),
  ...endpoints.map(([daysAgo, route, content]): DemoMemory => ({
    contentType: "note",
    source: "observed",
    content: `${route} ${content}`,
    daysAgo,
    tags: ["api", "endpoint"]
  })),
  ...rows("note", "stated", support),
  ...rows("note", "stated", decisions),
  ...rows("note", "observed", dependencies),
  ...rows("thought", "inferred", thoughts),
  ...rows("summary", "system", summaries)
]

/** Facts that changed: each later step supersedes the earlier ones. @category fixtures */
export const factChains: ReadonlyArray<DemoFactChain> = [
  {
    subject: "ledgerly.database",
    predicate: "is",
    tags: ["architecture"],
    steps: [
      { object: "PostgreSQL 14 on Heroku Postgres", daysAgo: 88, source: "observed" },
      { object: "PostgreSQL 16 on Fly Postgres", daysAgo: 60, source: "stated" },
      { object: "PostgreSQL 16 on Fly Postgres behind PgBouncer in transaction mode", daysAgo: 18, source: "stated" }
    ]
  },
  {
    subject: "ledgerly.hosting",
    predicate: "is",
    tags: ["deploy"],
    steps: [
      { object: "Heroku, one dyno type per process", daysAgo: 88, source: "observed" },
      { object: "Fly.io in the ams and iad regions", daysAgo: 58, source: "stated" }
    ]
  },
  {
    subject: "user.test_command",
    predicate: "is",
    tags: ["testing"],
    steps: [
      { object: "npm test (jest)", daysAgo: 85, source: "stated" },
      { object: "npm test (vitest), integration tests with npm run test:int", daysAgo: 50, source: "stated" }
    ]
  },
  {
    subject: "ledgerly.integration_pool",
    predicate: "uses",
    tags: ["testing", "ci"],
    steps: [
      { object: "vitest threads with 4 workers", daysAgo: 31, source: "observed" },
      { object: "vitest forks, one child process per test file", daysAgo: 5, source: "observed" }
    ]
  },
  {
    subject: "user.pull_request_style",
    predicate: "prefers",
    tags: ["conventions"],
    steps: [
      { object: "small pull requests, one concern each", daysAgo: 40, source: "stated" },
      { object: "small pull requests, one concern each", daysAgo: 3, source: "stated" }
    ]
  }
]

/** A workstream of the fixture, with its messages oldest first. @category models */
export interface DemoWorkstream {
  readonly title: string
  readonly summary: string
  readonly tags: ReadonlyArray<string>
  readonly messages: ReadonlyArray<readonly [role: MessageRole, content: string]>
}

/** The demo's two workstreams. @category fixtures */
export const workstreams: ReadonlyArray<DemoWorkstream> = [
  {
    title: "Deploy incident 12 March",
    summary: "Release v1.10.0 failed: migration 0014 rewrote the customers table",
    tags: ["deploy", "incident"],
    messages: [
      ["user", "The deploy is stuck, what happened?"],
      ["tool_use", "fly releases"],
      ["tool_result", "v1.10.0 failed (release_command timed out after 300s); v1.9.0 serving"],
      ["assistant", "Migration 0014 adds customers.vat_number as NOT NULL; PostgreSQL rewrites the whole 2.1M-row table."],
      ["user", "How do we avoid that next time?"],
      ["assistant", "Split it: add the column nullable, backfill in batches of 10k, then set NOT NULL in a later release."],
      ["tool_use", "fly deploy (with migration 0015)"],
      ["tool_result", "v1.10.1 deployed in 3m02s; health checks passing in ams and iad"],
      ["assistant", "Deployed v1.10.1. I also proposed a CI check that flags NOT NULL columns added without a default."],
      ["user", "Great, write it up as a postmortem note."],
      ["assistant", "Postmortem saved: cause, timeline, fix, and the follow-up CI check."]
    ]
  },
  {
    title: "Flaky invoice numbering test",
    summary: "invoices.int.test.ts 'issues numbers in order' fails ~1 in 30 with vitest threads",
    tags: ["ci", "testing"],
    messages: [
      ["user", "The integration tests failed on main again, can you look?"],
      ["assistant", "One failure in 'issues numbers in order' (expected 1042, got 1043); it passed when re-run."],
      ["tool_use", "npm run test:int -- --pool=forks (30 runs)"],
      ["tool_result", "30 passed, 0 failed"],
      ["assistant", "Never fails with forks, fails ~1 in 30 with threads: something is shared between test files."],
      ["tool_use", "grep -rn \"nextval('invoice_number\" test/"],
      ["tool_result", "test/globalSetup.ts:14 creates one invoice_number sequence for every test schema"],
      ["assistant", "Each test schema now gets its own counter table; 50 runs with threads, 0 failures."],
      ["user", "Thanks. Switch CI to forks anyway, it's the safer default."],
      ["assistant", "Done: vitest.config.ts uses pool forks for the int project."]
    ]
  }
]

/** The questions the demo asks. @category fixtures */
export const questions: ReadonlyArray<string> = [
  "ledgerly database",
  "why did the deploy fail",
  "run the integration tests locally",
  "flaky numbering test in CI"
]
