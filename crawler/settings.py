"""Scrapy settings for the knowledge-base crawler.

``kb crawl`` starts from these and overrides a few per run (the database
path, the user agent and delay from the sources file). Everything here is a
plain Scrapy setting except the KB_* ones, which the pipeline reads.
"""

BOT_NAME = "math-ml-kb"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Politeness: obey robots.txt, a small number of requests per host, a delay
# between them that AutoThrottle stretches when a site slows down.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 2
# Seconds before the first retry, doubled for each next one; a 429/503's
# Retry-After is honoured up to KB_RETRY_AFTER_MAX (beyond it, try next run).
KB_RETRY_BACKOFF = 1.0
KB_RETRY_AFTER_MAX = 120.0
DOWNLOAD_TIMEOUT = 30
COOKIES_ENABLED = False
# No listening sockets on a cron machine: Scrapy's telnet console and its
# remote-control HTTP server (which runs Python sent to it) stay off.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# Safety limits: a page bigger than this is not an article.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
REDIRECT_MAX_TIMES = 5

DOWNLOADER_MIDDLEWARES = {
    # HostGuard is stricter than Scrapy's offsite filter (which drops offsite
    # redirects without a trace at scheduling) and records what it refuses.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.HostGuardMiddleware": 40,
    "crawler.middlewares.CrawlDelayMiddleware": 110,  # after robots.txt is parsed (100)
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.middlewares.BoundedDecompressionMiddleware": 590,
}
# Every spelling of a page (tracking parameters, trailing slash...) is one request.
REQUEST_FINGERPRINTER_CLASS = "crawler.urls.UrlKeyFingerprinter"
DUPEFILTER_CLASS = "crawler.urls.RedirectLoopDupeFilter"

EXTENSIONS = {"crawler.extensions.TimeBudget": 500}
# Seconds the crawl may run (`kb crawl --time-budget`); 0: no limit.
KB_TIME_BUDGET = 0

ITEM_PIPELINES = {"crawler.pipelines.StoragePipeline": 300}

# `scrapy crawl` reads the sources file before it starts (crawler/commands/crawl.py).
COMMANDS_MODULE = "crawler.commands"

# Where the pipeline stores items: `kb crawl --db`, or `scrapy crawl articles -s KB_DB=...`.
KB_DB = "kb.db"
# The sources file the run was started with, recorded in crawl_runs.
KB_SOURCES_FILE = None
# The embedding model whose tokenizer measures passages (None: the default model).
KB_MODEL = None
# Longest passage, in the model's tokens, before a paragraph is split:
# all-MiniLM-L6-v2 reads 256 tokens and silently drops the rest.
KB_PASSAGE_MAX_TOKENS = 256

# The description of the knowledge base's question that focused sources score
# pages against (None: relevance.yml beside the project).
KB_RELEVANCE_FILE = None

# Sitemap and feed dates are hints: a page whose copy is older than this is
# fetched again whatever its date says.
KB_REVISIT_AFTER_DAYS = 30
# ... and checked: the first page a source's dates would skip in a run, and every
# this many after it, is requested anyway; one found changed ends the trust in
# that source's dates for the run (crawler/hints.py). 0: never check.
KB_HINT_CHECK_EVERY = 10

# A distributed crawl's workers (`kb crawl --redis`) derive each article's
# statements, speakers, author and topics with these files before pushing it,
# so the writer only stores them (crawler/pipelines.py DerivePipeline). None:
# the project's people.yml and topics.yml; `kb crawl --people` sets the first.
KB_DERIVE_ON_WORKERS = True
KB_PEOPLE_FILE = None
KB_TOPICS_FILE = None
# ... and, when this is on (`kb crawl --redis URL --worker-vectors`), embed each
# article's passages with KB_MODEL, so the writer stores the vectors instead of
# encoding them (kept when it embeds with the same model). Each worker then
# loads the model.
KB_EMBED_ON_WORKERS = False

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
