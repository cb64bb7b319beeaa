"""Every user-facing string, in one place so wording stays consistent."""

from __future__ import annotations

NOT_FOUND = "Not found in the corpus."
CLOSEST_HEADER = "Closest matches (these do not answer the question):"
# An answer declined by the confidence bar a team set (QUOTEBOT_MIN_CONFIDENCE).
BELOW_BAR = "No answer sure enough to show: this bot answers at confidence {bar:.2f} or more."
BELOW_BAR_HEADER = "Closest matches (below the bar: the answer may or may not be here):"
EMPTY_QUESTION = "Please ask a question, e.g. /ask Who passed the ordinance?"
QUESTION_TRUNCATED = "Your question was cut to its first {limit} characters."
GENERIC_ERROR = "Sorry, something went wrong while answering. The error has been logged."
COOLDOWN = "You're asking quickly; please try again in {seconds:.0f} s."
NO_CONTEXT = "That passage is no longer in the index."
FEEDBACK_THANKS = "Thanks for the feedback!"
FEEDBACK_UNKNOWN = "That answer is too old to rate."
SHARED = "Shared in the channel."

HELP = (
    "I answer questions about the documents in my corpus by quoting the passages "
    "that answer them, each cited to its document and paragraph. I never make up "
    "text: every quote is copied verbatim from a source.\n"
    "Commands:\n"
    "  /ask <question>  ask a question, e.g. /ask How did the council vote?\n"
    "  /sources         list the documents I quote from\n"
    "  /help            show this message\n"
    "Reply to one of my answers, or /ask in a thread, to follow up on it. Admins add "
    "and remove documents with /add and /remove.\n"
    "When the documents do not answer, I say so and show the closest passages, "
    "marked as such."
)

TERMINAL_HELP = (
    "I answer questions about the documents in my corpus by quoting the passages "
    "that answer them, each cited to its document and paragraph. I never make up "
    "text: every quote is copied verbatim from a source.\n"
    "Commands:\n"
    "  /ask <question>     ask a question; a line without a command asks it too\n"
    "  /sources            list the documents I quote from\n"
    "  /collection [NAME]  show which collection answers, or switch to NAME\n"
    "  /help               show this message\n"
    "  /quit               leave (or Ctrl-D, Ctrl-C)\n"
    'A short question that refers back ("what did he say?") follows up on the one '
    "before. When the documents do not answer, I say so and show the closest "
    "passages, marked as such."
)

CONFIDENCE = "Confidence: {label}"

# Discord adapter
DISCORD_TOKEN_MISSING = (
    "DISCORD_TOKEN is not set; put the bot token from the Discord Developer Portal "
    "(your application → Bot → Reset Token) in DISCORD_TOKEN, in the environment or in .env."
)
DISCORD_TOKEN_REJECTED = (
    "Discord rejected DISCORD_TOKEN ({reason}); reset the token in the Discord Developer "
    "Portal (your application → Bot → Reset Token) and update DISCORD_TOKEN."
)
DISCORD_UNREACHABLE = "Cannot reach Discord at {url}; check the network or DISCORD_API_BASE."
DISCORD_GUILD_REFUSED = (
    "Discord refused to register slash commands in guild {guild_id} (DISCORD_GUILD_ID); "
    "invite the bot there with the bot and applications.commands scopes, or unset it."
)
DISCORD_UNKNOWN_COMMAND = (
    "I don't have a /{name} command (any more). Try /ask <question>, /sources or /help."
)
DISCORD_OUTDATED_COMMAND = (
    "Discord sent /{name} in an outdated form; try again in a minute, or use /help."
)
SOURCES_TITLE = "Sources"
NO_SOURCES = "No documents are indexed."
MORE_CONTEXT = "More context"
CONTEXT_TITLE = "Context: {citation}"
ASK_DESCRIPTION = "Ask a question about the documents; the answer quotes them verbatim."
ASK_QUESTION_DESCRIPTION = "Your question, e.g. How did the council vote?"
ASK_PRIVATE_DESCRIPTION = "Only you see the answer."
SOURCES_DESCRIPTION = "List the documents the answers quote from."
HELP_DESCRIPTION = "What this bot does and how to ask it."

# Slack adapter
SLACK_SETTINGS_MISSING = (
    "{names} not set: the Slack bot needs {needed} for {mode}; "
    "set them in the environment or in .env."
)
SLACK_APP_TOKEN_KIND = (
    "SLACK_APP_TOKEN must be an app-level token (xapp-…); create one under your Slack app's "
    "Basic Information → App-Level Tokens with the connections:write scope."
)
SLACK_TOKEN_REJECTED = (
    "Slack rejected SLACK_BOT_TOKEN ({reason}); copy the Bot User OAuth Token (xoxb-…) "
    "from your Slack app's OAuth & Permissions page."
)
SLACK_APP_TOKEN_REJECTED = (
    "Slack rejected SLACK_APP_TOKEN ({reason}); create an app-level token with the "
    "connections:write scope under Basic Information → App-Level Tokens."
)
SLACK_UNREACHABLE = "Cannot reach the Slack Web API at {url}; check the network or SLACK_API_URL."
SLACK_SHARE = "Share in channel"
SLACK_SHARED_BY = "Shared by {user}"
SLACK_SHARE_UNKNOWN = "That answer is too old to share; please ask again."
SLACK_VOTE_UP = "👍"
SLACK_VOTE_DOWN = "👎"
SLACK_HELP = (
    "I answer questions about the documents in my corpus by quoting the passages "
    "that answer them, each cited to its document and paragraph. I never make up "
    "text: every quote is copied verbatim from a source.\n"
    "Ask me:\n"
    "  /ask <question>        only you see the answer, until you share it, "
    "e.g. /ask How did the council vote?\n"
    "  @quotebot <question>   in a channel; I answer in a thread, and follow-up "
    "mentions in that thread too\n"
    "  /sources               list the documents I quote from\n"
    "  /ask help              show this message\n"
    "When the documents do not answer, I say so and show the closest passages, "
    "marked as such."
)
UNKNOWN_COMMAND = "Try /ask <question>, /sources or /help."

# HTTP servers (Slack HTTP mode, --metrics-port)
LISTEN_FAILED = (
    "Cannot listen on {host}:{port} ({reason}); choose another {setting}, "
    "or stop whatever holds that port."
)

# State store
DATABASE_URL_INVALID = (
    "QUOTEBOT_DATABASE_URL must be sqlite:///path or postgresql://user@host:port/db, got {url!r}."
)
DATABASE_UNREACHABLE = (
    "Cannot reach the database at {url}; check that it is running and QUOTEBOT_DATABASE_URL."
)
DATABASE_BUSY = "The database is busy or unreachable right now; please try again in a moment."
DATABASE_FILE_UNUSABLE = "Cannot open the SQLite database {path}: {reason}."
USER_HASH_KEY_UNREADABLE = (
    "Cannot read the user-id hash key in {path}; fix or delete the file, "
    "or set QUOTEBOT_USER_HASH_KEY."
)
USER_HASH_KEY_UNUSABLE = (
    "Cannot keep the user-id hash key in {path}: {reason}; choose another file with "
    "QUOTEBOT_USER_HASH_KEY_FILE, or set QUOTEBOT_USER_HASH_KEY."
)
MAKE_A_KEY = 'python -c "import secrets; print(secrets.token_hex(32))"'
USER_HASH_KEY_REQUIRED = (
    "QUOTEBOT_DATABASE_URL names a shared database, so every replica needs the same "
    "user-id hash key: set QUOTEBOT_USER_HASH_KEY (or QUOTEBOT_USER_HASH_KEY_FILE) to one "
    "key on all of them; make one with: " + MAKE_A_KEY
)
USER_HASH_KEY_REQUIRED_BEFORE = (
    USER_HASH_KEY_REQUIRED + " (the key used so far, to keep the stored hashes, is in {path})"
)
USER_HASH_KEY_BESIDE_DATABASE = (
    "The user-id hash key file {path} would sit beside the database, where a copy of the "
    "data folder would carry it; set QUOTEBOT_USER_HASH_KEY_FILE to a file in another "
    "folder, or set QUOTEBOT_USER_HASH_KEY."
)
USER_HASH_KEY_CONFLICT = (
    "There is a user-id hash key beside the database ({old}) and another one in {new}; "
    "keep the one this database's hashes were made with: move it to {new} (or set "
    "QUOTEBOT_USER_HASH_KEY_FILE to it, outside the database's folder) and delete the other."
)
USER_HASH_KEY_NO_HOME = (
    "No home folder to keep the user-id hash key in; set QUOTEBOT_USER_HASH_KEY_FILE "
    "or QUOTEBOT_USER_HASH_KEY."
)
USER_HASH_KEY_MOVED = (
    "Moved the user-id hash key from {old} to {new}, away from the database it protects; "
    "back it up with the configuration, not with the data."
)
USER_HASH_KEY_MADE_FOR_SHARED = (
    "Made a new user-id hash key in {path}; every replica on this database must use this "
    "same key (copy the file, or set QUOTEBOT_USER_HASH_KEY), or they count votes and "
    "cooldowns apart."
)
DATABASE_TOO_NEW = (
    "The database schema is at version {version}, newer than this quotebot knows ({known}); "
    "upgrade quotebot."
)
DB_VERSION = "Database schema at version {version} ({backend}: {where})."
DB_UPGRADED = "Database schema upgraded from version {before} to {after} ({backend}: {where})."

# Collections (quotebot.toml)
CONFIG_MISSING = "QUOTEBOT_CONFIG names {path}, which does not exist; create it or unset it."
CONFIG_UNREADABLE = "Cannot read the configuration file {path}: {reason}."
CONFIG_UNKNOWN_KEY = "unknown setting {key} (known: {known})."
CONFIG_UNKNOWN_COLLECTION = (
    "{what} names no collection: there is no folder {folder} (collections: {known})."
)
CONFIG_DEFAULT_FOLDER = (
    "the folder {folder} cannot be a collection: default is the name of the files "
    "directly in the corpus folder; rename it."
)
CONFIG_MIN_CONFIDENCE = (
    "collections.{name}.min_confidence must be a number from 0 to below 1, like 0.7."
)
CONFIG_CHANNEL_TWICE = (
    "channel {channel} is listed twice (in [collections.{first}] and [collections.{second}]); "
    "a channel answers from one collection."
)
CONFIG_ADMIN_ROLE_GONE = (
    "discord_admin_role is no longer read: any server can make a role of that name. Name role "
    'ids with their server under the collection instead: admins.discord = [{ server = "<server '
    'id>", roles = ["<role id>"] }] under [collections.NAME] (see docs/collections.md).'
)
CONFIG_MANAGE_SERVER_UNMAPPED = (
    "collections.{name}.admins.discord: manage_server counts only in a server that answers "
    "from {name}, and server {server} is not in its discord_channels."
)
ADMINS_ENV_INVALID = (
    "QUOTEBOT_ADMINS takes Slack member ids (U012ABCDEF) and Discord server id:user id pairs "
    "(111122223333:444455556666), comma-separated; got {item!r}."
)
ADMINS_ENV_WITH_FILE = (
    "QUOTEBOT_ADMINS is for a bot without quotebot.toml; name the admins of each collection "
    "in this file instead (admins.slack, admins.discord; see docs/collections.md) and unset it."
)
UNKNOWN_COLLECTION = "There is no collection {name}; collections: {known}."
COLLECTIONS_NEED_CONFIG = (
    " Sub-folders of the corpus become collections once quotebot.toml exists"
    " (see docs/collections.md)."
)
COLLECTION_EMPTY = "The collection {name} has no documents yet."
COLLECTION_ACTIVE = "Answering from the collection {name} (collections: {known})."
COLLECTION_INDEXED = "{name}: {summary}"
COLLECTION_NOTHING_TO_INDEX = "{name}: no documents in {folder}; nothing to index."

# Documents added and removed from chat
DOCUMENT_ADDED = (
    "Added {document} to the collection {collection}: “{title}”, {paragraphs}. "
    "Questions are answered from it now."
)
DOCUMENT_REPLACED = (
    "Replaced {document} in the collection {collection} (a document of that name was there): "
    "“{title}”, {paragraphs}. Questions are answered from it now."
)
DOCUMENT_REMOVED = "Removed {document} (“{title}”) from the collection {collection}."
ADD_HIDDEN = "{name}: names starting with a dot are not added; nothing was added."
ADD_UNSUPPORTED = "{name} is not a supported file type ({accepted}); nothing was added."
ADD_TOO_BIG = (
    "{name} is {size}, over the {limit:g} MB limit (QUOTEBOT_MAX_FILE_MB); nothing was added."
)
ADD_EMPTY = "{name} is empty; nothing was added."
ADD_UNREADABLE = "{name} cannot be read ({reason}); nothing was added."
ADD_WRITE_FAILED = "{name} could not be written ({reason}); nothing was added."
ADD_DOWNLOAD_FAILED = "{name} could not be downloaded; nothing was added. Please try again."
REMOVE_UNKNOWN = (
    "There is no document {name} in the collection {collection}; /sources lists its documents."
)
REMOVE_AMBIGUOUS = "Several documents are titled {name} ({documents}); give the file name."
REMOVE_FAILED = "{name} could not be removed ({reason})."
ADD_UNAVAILABLE = "Adding and removing documents is not available in this bot."
# Who may add and remove documents (bot/permissions.py)
NOT_ADMIN = (
    "Only the admins of the collection {name} may add or remove its documents; nothing was changed."
)
NOT_ADMIN_MANAGE_SERVER = (
    "Only the admins of the collection {name} may add or remove its documents "
    "(Manage Server in this server does not make you one); nothing was changed."
)
NOT_ADMIN_ANYWHERE = (
    "Only a collection's admins may add or remove its documents; nothing was changed."
)
NO_ADMINS = (
    "Adding and removing documents is off for the collection {name}: no admins are named "
    "for it. {how} Nothing was changed."
)
NO_ADMINS_TOML_SLACK = (
    'To turn it on, add admins.slack = ["U012ABCDEF"] (Slack member ids) under '
    "[collections.{name}] in quotebot.toml and restart the bot."
)
NO_ADMINS_TOML_DISCORD = (
    'To turn it on, add admins.discord = [{{ server = "{server}", users = ["<user id>"] }}] '
    "under [collections.{name}] in quotebot.toml and restart the bot."
)
NO_ADMINS_ENV_SLACK = (
    "To turn it on, set QUOTEBOT_ADMINS=U012ABCDEF (Slack member ids, comma-separated) "
    "and restart the bot."
)
NO_ADMINS_ENV_DISCORD = (
    "To turn it on, set QUOTEBOT_ADMINS={server}:<user id> (Discord server id:user id, "
    "comma-separated) and restart the bot."
)
SLACK_ADD_HINT = "To add a document, share the file here with the message: add [collection]"
SLACK_REMOVE_USAGE = "Usage: /remove <document> [collection], e.g. /remove leave.md hr"
ADD_DESCRIPTION = "Add a document to a collection (admins only)."
ADD_FILE_DESCRIPTION = "The document: .txt, .md, .html or .pdf"
ADD_COLLECTION_DESCRIPTION = "The collection (default: this channel's)."
REMOVE_DESCRIPTION = "Remove a document from a collection (admins only)."
REMOVE_DOCUMENT_DESCRIPTION = "The document's file name (as added) or its title."

# Follow-ups (a reply to an answer in Discord)
FOLLOW_UP_EMPTY = (
    "Reply to one of my answers with a follow-up question, e.g. What did he say about it?"
)

# Feedback export and statistics
FEEDBACK_SINCE_INVALID = "--since takes a date like 2026-11-01, not {text!r}."
FEEDBACK_NONE = "No votes yet."
FEEDBACK_EXPORTED = (
    "Wrote {questions} rated answer(s) in {collections} collection(s) to {path} "
    "({answered} with 👍 quotes as answers, {negatives} with 👎 quotes as negatives)."
)
