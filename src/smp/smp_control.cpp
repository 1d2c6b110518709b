#include "smp/smp_control.hpp"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/stats_csv.hpp"
#include "smp/session.hpp"

namespace sr::smp {

namespace {

// Haskell's `show` of an Int64 inside a constructor argument: negative numbers are parenthesized.
std::string show_arg(int64_t v) { return v < 0 ? fmt::format("({})", v) : std::to_string(v); }

// `show` of a UTCTime with whole seconds: "2025-06-01 00:00:00 UTC".
std::string show_utc(int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string show_proxy(const char* label, const ProxyStats& p) {
  return fmt::format("{}: requests={}, successes={}, errorsConnect={}, errorsCompat={}, errorsOther={}\n", label,
                     p.requests, p.successes, p.errorsConnect, p.errorsCompat, p.errorsOther);
}

// The reference's getSenderQueue: by sender id, falling back to the short-link id; unknown → AUTH.
QueueRec* sender_queue(ServerState& st, const Bytes& id) {
  const auto qid = to_id(id);
  if (!qid) return nullptr;
  if (QueueRec* q = st.queues().by_sender(*qid)) return q;
  return st.queues().by_link(*qid);
}

constexpr const char* kAuthError = "error: AUTH\n";

std::string store_failure(std::string e) { return fmt::format("error: STORE \"{}\"\n", e); }

}  // namespace

std::string show_blocking_info(const BlockingInfo& b) {
  std::string notice = "Nothing";
  if (b.has_notice)
    notice = "Just (ClientNotice {ttl = " + (b.notice_ttl ? "Just " + show_arg(*b.notice_ttl) : "Nothing") + "})";
  return fmt::format("BlockingInfo {{reason = {}, notice = {}}}",
                     b.reason == BlockingInfo::Reason::spam ? "BRSpam" : "BRContent", notice);
}

static std::string show_status(QueueStatus s, const BlockingInfo* info) {
  switch (s) {
    case QueueStatus::Off: return "EntityOff";
    case QueueStatus::Blocked: return "EntityBlocked (" + show_blocking_info(info ? *info : BlockingInfo{}) + ")";
    case QueueStatus::Active: break;
  }
  return "EntityActive";
}

std::string show_status(const QueueRec& q) {
  return show_status(q.status, q.extra ? &q.extra->blocking : nullptr);
}

std::string control_stats(ServerState& st, control::Role role) {
  const ServerStatsData& s = st.stats();
  const EntityCounts e = st.entity_counts();
  const StoreGauges g = st.store_gauges();
  std::string o;
  auto put = [&o](std::string_view label, const auto& v) { o += fmt::format("{}: {}\n", label, v); };
  put("fromTime", show_utc(s.fromTime));
  put("qCreated", s.qCreated);
  put("qSecured", s.qSecured);
  put("qDeletedAll", s.qDeletedAll);
  put("qDeletedAllB", s.qDeletedAllB);
  put("qDeletedNew", s.qDeletedNew);
  put("qDeletedSecured", s.qDeletedSecured);
  put("daily active queues", s.activeQueues.day.size());
  put("qSub", s.qSub);
  put("qSubAllB", s.qSubAllB);
  put("qSubEnd", s.qSubEnd);
  put("qSubEndB", s.qSubEndB);
  put("other SUB events (auth, duplicate, prohibited)",
      fmt::format("({},{},{})", s.qSubAuth, s.qSubDuplicate, s.qSubProhibited));
  put("msgSent", s.msgSent);
  put("msgRecv", s.msgRecv);
  put("msgRecvGet", s.msgRecvGet);
  put("msgGet", s.msgGet);
  put("msgGetNoMsg", s.msgGetNoMsg);
  put("other GET events (auth, duplicate, prohibited)",
      fmt::format("({},{},{})", s.msgGetAuth, s.msgGetDuplicate, s.msgGetProhibited));
  put("msgSentNtf", s.msgSentNtf);
  put("msgRecvNtf", s.msgRecvNtf);
  put("msgNtfs", s.msgNtfs);
  put("msgNtfsB", s.msgNtfsB);
  put("msgNtfExpired", s.msgNtfExpired);
  put("qCount", s.qCount);
  put("qCount 2", e.queueCount);
  put("notifiers", e.notifierCount);
  put("msgCount", g.msgCount);
  put("ntfCount", g.ntfCount);
  if (role == control::Role::Admin) put("ntfCount 2", st.notifications().total());
  o += show_proxy("pRelays", s.pRelays);
  o += show_proxy("pRelaysOwn", s.pRelaysOwn);
  o += show_proxy("pMsgFwds", s.pMsgFwds);
  o += show_proxy("pMsgFwdsOwn", s.pMsgFwdsOwn);
  put("pMsgFwdsRecv", s.pMsgFwdsRecv);
  put("rcvServiceCount", e.rcvServiceCount);
  put("ntfServiceCount", e.ntfServiceCount);
  put("rcvServiceQueuesCount", e.rcvServiceQueuesCount);
  put("ntfServiceQueuesCount", e.ntfServiceQueuesCount);
  return o;
}

std::string control_clients(ServerState& st, int64_t now) {
  std::string o = "clientId,sessionId,connected,createdAt,rcvActiveAt,sndActiveAt,age,subscriptions\n";
  // Times are Unix seconds, the session id standard base64, as the reference's. We keep one activity time per
  // connection; it stands for both rcvActiveAt and sndActiveAt.
  st.for_each_client([&](const ClientState& c) {
    o += fmt::format("{},{},True,{},{},{},{},{}\n", c.id, base64_encode(c.params.session_id), c.created_at,
                     c.last_active, c.last_active, now - c.created_at, c.sub_count);
  });
  return o;
}

std::string control_sockets(const std::vector<SocketCounts>& ports) {
  std::string o;
  for (const SocketCounts& p : ports)
    o += fmt::format("Sockets for port {}:\naccepted: {}\nclosed: {}\nactive: {}\nleaked: {}\n", p.port, p.accepted,
                     p.closed, p.active, p.leaked);
  return o;
}

std::string control_server_info(ServerState& st, control::Role role) {
  std::string o = fmt::format("Threads: {}\n", stats::thread_count());
  size_t clients = 0, subs = 0, sub_clients = 0, ntf_subs = 0, outbox = 0;
  std::vector<ClientId> ntf_clients;
  st.for_each_client([&](const ClientState& c) {
    ++clients;
    subs += c.sub_count;
    if (c.sub_count) ++sub_clients;
    ntf_subs += c.ntf_subs.size();
    if (!c.ntf_subs.empty()) ntf_clients.push_back(c.id);
    outbox += c.outbox.size();
  });
  std::sort(ntf_clients.begin(), ntf_clients.end());
  o += fmt::format("Clients: {}\n", clients);
  if (role == control::Role::Admin) {
    // Our connections have one outbox each (the reference: three bounded queues).
    o += fmt::format("Client queues (rcvQ, sndQ, msgQ): (0,{},0)\n", outbox);
    o += fmt::format("SMP subscriptions (via clients): {}\n", subs);
    o += fmt::format("SMP subscribed clients (via clients): {}\n", sub_clients);
    o += fmt::format("Ntf subscriptions (via clients): {}\n", ntf_subs);
    o += fmt::format("Ntf subscribed clients (via clients): {}\n", ntf_clients.size());
  }
  o += fmt::format("SMP subscriptions: {}\n", subs);
  o += fmt::format("SMP subscribed clients: {}\n", sub_clients);
  o += fmt::format("Ntf subscriptions: {}\n", ntf_subs);
  o += fmt::format("Ntf subscribed clients: {} [{}]\n", ntf_clients.size(), fmt::join(ntf_clients, ","));
  return o;
}

std::string control_status(ServerState& st, const Bytes& id) {
  const QueueRec* q = sender_queue(st, id);
  if (!q) return kAuthError;
  const std::string updated =
      q->updated_at ? fmt::format("Just (RoundedSystemTime {{roundedSeconds = {}}})", int64_t{q->updated_at} * 86400)
                    : "Nothing";
  const auto mode = q->queue_mode();
  const std::string qmode = !mode ? "Nothing" : *mode == QueueMode::Contact ? "Just QMContact" : "Just QMMessaging";
  return fmt::format("status: {}, updatedAt: {}, queueMode: {}\n", show_status(*q), updated, qmode);
}

std::string control_delete(ServerState& st, const Bytes& id) {
  const QueueRec* q = sender_queue(st, id);
  if (!q) return kAuthError;
  const size_t n = st.delete_queue_by_operator(q->recipient_id);
  if (std::string e = st.take_store_error(); !e.empty()) return store_failure(std::move(e));
  return fmt::format("ok, {} messages deleted\n", n);
}

std::string control_block(ServerState& st, const Bytes& id, const BlockingInfo& info, int64_t quota) {
  // -1 (or any negative quota) prohibits blocking: the count is never below it (Q10: reset with the daily row).
  if (quota != 0 && st.stats().qBlocked >= quota)
    return fmt::format("error: reached limit of {} queues blocked daily\n", quota);
  QueueRec* q = sender_queue(st, id);
  if (!q) return kAuthError;
  const QueueStatus old = q->status;
  const bool same = old == QueueStatus::Blocked && q->extra && q->extra->blocking == info;
  if (!same) {
    st.block_queue(q->recipient_id, info);  // counts qBlocked when the queue was active
    if (std::string e = st.take_store_error(); !e.empty()) return store_failure(std::move(e));
  }
  const std::string shown = show_status(QueueStatus::Blocked, &info);
  return old == QueueStatus::Active ? "ok, queue blocked: " + shown + "\n" : "ok, already inactive: " + shown + "\n";
}

std::string control_unblock(ServerState& st, const Bytes& id) {
  QueueRec* q = sender_queue(st, id);
  if (!q) return kAuthError;
  if (q->status == QueueStatus::Active) return "ok, queue was active\n";
  if (q->status == QueueStatus::Off) return "error, queue is inactive\n";
  const BlockingInfo info = q->extra ? q->extra->blocking : BlockingInfo{};
  st.unblock_queue(q->recipient_id);
  if (std::string e = st.take_store_error(); !e.empty()) return store_failure(std::move(e));
  return "ok, queue unblocked, reason to block was: " + show_blocking_info(info) + "\n";
}

std::shared_ptr<const control::Commands> smp_commands(SmpControl c) {
  using control::Args;
  using control::Need;
  using control::Request;
  auto cmds = std::make_shared<control::Commands>();
  cmds->greeting = "SMP server control port";
  // Quirk 8.Q13: the list omits status, block, unblock, suspend and resume, as the reference's does.
  cmds->help = "commands: stats, stats-rts, clients, sockets, socket-threads, threads, server-info, delete, save, help, quit";
  auto relay = c.relay;
  auto now = [] { return static_cast<int64_t>(std::time(nullptr)); };
  auto& t = cmds->table;
  t["suspend"] = {Args::None, Need::Admin, [](const Request&) { return std::string("suspend not implemented\n"); }};
  t["resume"] = {Args::None, Need::Admin, [](const Request&) { return std::string("resume not implemented\n"); }};
  t["clients"] = {Args::None, Need::Admin,
                  [relay, now](const Request&) { return control_clients(relay->state(), now()); }};
  t["stats"] = {Args::None, Need::User, [relay](const Request& r) { return control_stats(relay->state(), r.role); }};
  t["stats-rts"] = {Args::None, Need::Any, [](const Request&) { return control::runtime_stats(); }};
  t["threads"] = {Args::None, Need::Admin,
                  [](const Request&) { return fmt::format("Threads: {}\n", stats::thread_count()); }};
  t["sockets"] = {Args::None, Need::User, [sockets = c.sockets](const Request&) {
                    return control_sockets(sockets ? sockets() : std::vector<SocketCounts>{});
                  }};
  // One coroutine per connection on one thread: there are no per-socket threads to list.
  t["socket-threads"] = {Args::None, Need::Admin, [](const Request&) { return std::string(); }};
  t["server-info"] = {Args::None, Need::User,
                      [relay](const Request& r) { return control_server_info(relay->state(), r.role); }};
  t["delete"] = {Args::Id, Need::Admin, [relay](const Request& r) { return control_delete(relay->state(), r.id); }};
  t["status"] = {Args::Id, Need::User, [relay](const Request& r) { return control_status(relay->state(), r.id); }};
  t["block"] = {Args::IdInfo, Need::User, [relay, quota = c.daily_block_queue_quota](const Request& r) {
                  return control_block(relay->state(), r.id, r.info, quota);
                }};
  t["unblock"] = {Args::Id, Need::User, [relay](const Request& r) { return control_unblock(relay->state(), r.id); }};
  t["save"] = {Args::None, Need::Admin, [save = c.save](const Request&) {
                 if (save) save();
                 return std::string("saving server state...\nserver state saved!\n");
               }};
  return cmds;
}

}  // namespace sr::smp
