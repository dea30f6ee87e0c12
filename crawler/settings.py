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
DOWNLOAD_TIMEOUT = 30
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

# Safety limits: a page bigger than this is not an article.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
REDIRECT_MAX_TIMES = 5

ITEM_PIPELINES = {"crawler.pipelines.StoragePipeline": 300}

# Where the pipeline stores items; set by `kb crawl --db`.
KB_DB_PATH = None
# The sources file the run was started with, recorded in crawl_runs.
KB_SOURCES_FILE = None
# The embedding model whose tokenizer measures passages (None: the default model).
KB_MODEL = None
# Longest passage, in the model's tokens, before a paragraph is split:
# all-MiniLM-L6-v2 reads 256 tokens and silently drops the rest.
KB_PASSAGE_MAX_TOKENS = 256

LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
