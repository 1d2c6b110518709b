#include "smp/smp_metrics.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "build_info.hpp"
#include "core/stats_csv.hpp"
#include "smp/server_state.hpp"

namespace sr::smp {

namespace {

std::string n(int64_t v) { return std::to_string(v); }

void add_proxy(std::vector<std::string>& f, const ProxyStats& p) {
  for (int64_t v : {p.requests, p.successes, p.errorsConnect, p.errorsCompat, p.errorsOther}) f.push_back(n(v));
}

void add_service(std::vector<std::string>& f, const ServiceStats& s) {
  for (int64_t v : {s.assocNew, s.assocDuplicate, s.assocUpdated, s.assocRemoved, s.subCount, s.subDuplicate,
                    s.subQueues, s.subEnd})
    f.push_back(n(v));
}

// The text builder: every sample carries the recording time in milliseconds, most are followed by a comment
// line with the reference's internal name.
struct Prom {
  std::string o;
  std::string ts;
  void family(std::string_view name, std::string_view help, std::string_view type) {
    o += "# HELP ";
    o += name;
    o += ' ';
    o += help;
    o += "\n# TYPE ";
    o += name;
    o += ' ';
    o += type;
    o += '\n';
  }
  void sample(std::string_view name, std::string_view value, std::string_view comment = {}) {
    o += name;
    o += ' ';
    o += value;
    o += ' ';
    o += ts;
    o += '\n';
    if (!comment.empty()) {
      o += "# ";
      o += comment;
      o += '\n';
    }
  }
  void sample(std::string_view name, int64_t value, std::string_view comment = {}) {
    sample(name, std::string_view(n(value)), comment);
  }
  // One single-sample family followed by a blank line.
  void one(std::string_view name, std::string_view help, std::string_view type, int64_t value,
           std::string_view comment) {
    family(name, help, type);
    sample(name, value, comment);
    o += '\n';
  }
};

void services(Prom& p, const ServiceStats& s, const std::string& pfx, const std::string& name) {
  const std::string m = "simplex_smp_" + pfx + "_services_";
  p.one(m + "assoc_new", "New queue associations with " + name + " services.", "counter", s.assocNew,
        pfx + ".srvAssocNew");
  p.one(m + "assoc_duplicate", "Duplicate queue associations with " + name + " services.", "counter",
        s.assocDuplicate, pfx + ".srvAssocDuplicate");
  p.one(m + "assoc_updated", "Updated queue associations with " + name + " services.", "counter", s.assocUpdated,
        pfx + ".srvAssocUpdated");
  p.one(m + "assoc_removed", "Removed queue associations with " + name + " services.", "counter", s.assocRemoved,
        pfx + ".srvAssocRemoved");
  p.one(m + "sub_count", "Service subscriptions by " + name + " services.", "counter", s.subCount,
        pfx + ".srvSubCount");
  p.one(m + "sub_duplicate", "Duplicate service subscriptions by " + name + " services.", "counter",
        s.subDuplicate, pfx + ".srvSubDuplicate");
  p.one(m + "sub_queues", "Queues subscribed by " + name + " services.", "gauge", s.subQueues,
        pfx + ".srvSubQueues");
  p.one(m + "sub_end", "Ended subscriptions with " + name + " services.", "gauge", s.subEnd, pfx + ".srvSubEnd");
}

void bucket(Prom& p, std::string_view metric, std::string_view le, int64_t count) {
  p.sample(std::string(metric) + "_bucket{le=\"" + std::string(le) + "\"}", count);
}

// Cumulative buckets; a gap of more than 60 s gets an extra bucket 60 s before the next one.
void time_buckets(Prom& p, std::string_view metric, const std::map<int64_t, int64_t>& b) {
  int64_t prev = 0, total = 0;
  for (const auto& [sec, cnt] : b) {
    if (sec - 60 > prev) bucket(p, metric, n(sec - 60), total);
    total += cnt;
    bucket(p, metric, n(sec), total);
    prev = sec;
  }
}

// Reference quirk 8.Q20: a period's sum is over the buckets whose *count* lies in the period's range.
void bucket_sums(Prom& p, std::string_view metric, const std::map<int64_t, int64_t>& b) {
  const std::pair<int64_t, int64_t> periods[] = {
      {0, 60}, {60, 300}, {300, 1200}, {1200, 3600}, {3600, std::numeric_limits<int64_t>::max()}};
  for (const auto& [lo, hi] : periods) {
    int64_t sum = 0;
    for (const auto& [sec, cnt] : b)
      if (lo <= cnt && cnt < hi) sum += cnt;
    p.sample(std::string(metric) + "{period=\"" + n(lo) + (hi <= 3600 ? "-" + n(hi) : std::string("+")) + "\"}",
             sum);
  }
}

}  // namespace

void add_time(TimeBuckets& b, int64_t t) {
  b.sumTime += t;
  b.maxTime = std::max(b.maxTime, t);
  auto up = [t](int64_t m) { return (t + m - 1) / m * m; };  // round up (t > 5 here)
  const int64_t sec = t <= 5 ? t : t <= 30 ? up(5) : t <= 60 ? up(10) : t <= 180 ? up(30) : up(60);
  ++b.buckets[sec];
}

std::string stats_csv_row(const StatsPeriod& p, const StoreGauges& g, const EntityCounts& e) {
  const ServerStatsData& d = p.data;
  std::vector<std::string> f;
  f.reserve(96);
  f.push_back(stats::csv_date(d.fromTime));
  for (int64_t v : {d.qCreated, d.qSecured, d.qDeletedAll, d.msgSent, d.msgRecv}) f.push_back(n(v));
  auto period = [&](const PeriodStats& s) {
    f.push_back(n(static_cast<int64_t>(s.day.size())));
    f.push_back(stats::period_field(s.week, p.week_ended));
    f.push_back(stats::period_field(s.month, p.month_ended));
  };
  period(d.activeQueues);
  f.push_back(n(d.msgSentNtf));
  f.push_back(n(d.msgRecvNtf));
  period(d.activeQueuesNtf);
  for (int64_t v : {d.qCount, g.msgCount, d.msgExpired, d.qDeletedNew, d.qDeletedSecured}) f.push_back(n(v));
  add_proxy(f, d.pRelays);
  add_proxy(f, d.pRelaysOwn);
  add_proxy(f, d.pMsgFwds);
  add_proxy(f, d.pMsgFwdsOwn);
  for (int64_t v : {d.pMsgFwdsRecv, d.qSub, d.qSubAuth, d.qSubDuplicate, d.qSubProhibited, d.msgSentAuth,
                    d.msgSentQuota, d.msgSentLarge, d.msgNtfs, d.msgNtfNoSub, d.msgNtfLost, int64_t{0}, d.msgRecvGet,
                    d.msgGet, d.msgGetNoMsg, d.msgGetAuth, d.msgGetDuplicate, d.msgGetProhibited, int64_t{0},
                    int64_t{0}, int64_t{0}, e.queueCount, d.ntfCreated, d.ntfDeleted, d.ntfSub, d.ntfSubAuth,
                    d.ntfSubDuplicate, e.notifierCount, d.qDeletedAllB, d.qSubAllB, d.qSubEnd, d.qSubEndB,
                    d.ntfDeletedB, d.ntfSubB, d.msgNtfsB, d.msgNtfExpired, g.ntfCount, e.rcvServiceCount,
                    e.ntfServiceCount, e.rcvServiceQueuesCount, e.ntfServiceQueuesCount})
    f.push_back(n(v));
  add_service(f, d.rcvServices);
  add_service(f, d.ntfServices);
  std::string row;
  for (size_t i = 0; i < f.size(); ++i) {
    if (i) row += ',';
    row += f[i];
  }
  return row;
}

std::string prometheus_metrics(const ServerStatsData& d, const StoreGauges& g, const EntityCounts& e,
                               const RealTimeMetrics& rt, const TimeBuckets& ack, std::string_view rts_options,
                               std::chrono::system_clock::time_point now) {
  Prom p;
  p.ts = n(stats::epoch_ms(now));
  p.o = stats::metrics_header(now, d.fromTime);
  const auto cnt = [](const std::set<int64_t>& s) { return static_cast<int64_t>(s.size()); };

  p.o += "# Queues\n# ------\n\n";
  p.one("simplex_smp_queues_created", "Created queues", "counter", d.qCreated, "qCreated");
  p.one("simplex_smp_queues_secured", "Secured queues", "counter", d.qSecured, "qSecured");
  p.family("simplex_smp_queues_deleted", "Deleted queues", "counter");
  p.sample("simplex_smp_queues_deleted{type=\"all\"}", d.qDeletedAll, "qDeleted");
  p.sample("simplex_smp_queues_deleted{type=\"new\"}", d.qDeletedNew, "qDeletedNew");
  p.sample("simplex_smp_queues_deleted{type=\"secured\"}", d.qDeletedSecured, "qDeletedSecured");
  p.o += '\n';
  p.one("simplex_smp_queues_blocked", "Deleted queues", "counter", d.qBlocked, "qBlocked");
  p.one("simplex_smp_queues_deleted_batch", "Batched requests to delete queues", "counter", d.qDeletedAllB,
        "qDeletedAllB");
  p.one("simplex_smp_queues_total1", "Total number of stored queues (first type of count).", "gauge", d.qCount,
        "qCount");
  p.one("simplex_smp_queues_total2", "Total number of stored queues (second type of count).", "gauge", e.queueCount,
        "qCount2");
  p.one("simplex_smp_queues_daily", "Daily active queues.", "gauge", cnt(d.activeQueues.day), "dayMsgQueues");
  p.one("simplex_smp_queues_weekly", "Weekly active queues.", "gauge", cnt(d.activeQueues.week), "weekMsgQueues");
  p.one("simplex_smp_queues_monthly", "Monthly active queues.", "gauge", cnt(d.activeQueues.month),
        "monthMsgQueues");
  p.one("simplex_smp_queues_notify_daily", "Daily active queues with notifications.", "gauge",
        cnt(d.activeQueuesNtf.day), "dayCountNtf");
  p.one("simplex_smp_queues_notify_weekly", "Weekly active queues with notifications.", "gauge",
        cnt(d.activeQueuesNtf.week), "weekCountNtf");
  p.one("simplex_smp_queues_notify_monthly", "Monthly active queues with notifications.", "gauge",
        cnt(d.activeQueuesNtf.month), "monthCountNtf");

  p.o += "# Subscriptions\n# -------------\n\n";
  p.one("simplex_smp_subscribtion_successes", "Successful subscriptions.", "counter", d.qSub, "qSub");
  p.one("simplex_smp_subscribtion_successes_batch", "Batched successful subscriptions.", "counter", d.qSubAllB,
        "qSubAllB");
  p.one("simplex_smp_subscribtion_end", "Ended subscriptions.", "counter", d.qSubEnd, "qSubEnd");
  p.one("simplex_smp_subscribtion_end_batch", "Batched ended subscriptions.", "counter", d.qSubEndB, "qSubEndB");
  p.family("simplex_smp_subscribtion_errors", "Subscription errors.", "counter");
  p.sample("simplex_smp_subscribtion_errors{type=\"auth\"}", d.qSubAuth, "qSubAuth");
  p.sample("simplex_smp_subscribtion_errors{type=\"duplicate\"}", d.qSubDuplicate, "qSubDuplicate");
  p.sample("simplex_smp_subscribtion_errors{type=\"prohibited\"}", d.qSubProhibited, "qSubProhibited");
  p.o += '\n';

  p.o += "# Messages\n# --------\n\n";
  p.one("simplex_smp_messages_sent", "Sent messages.", "counter", d.msgSent, "msgSent");
  p.family("simplex_smp_messages_sent_errors", "Total number of messages errors by type.", "counter");
  p.sample("simplex_smp_messages_sent_errors{type=\"auth\"}", d.msgSentAuth, "msgSentAuth");
  p.sample("simplex_smp_messages_sent_errors{type=\"quota\"}", d.msgSentQuota, "msgSentQuota");
  p.sample("simplex_smp_messages_sent_errors{type=\"large\"}", d.msgSentLarge, "msgSentLarge");
  p.sample("simplex_smp_messages_sent_errors{type=\"block\"}", d.msgSentBlock, "msgSentBlock");
  p.o += '\n';
  p.one("simplex_smp_messages_received", "Received messages.", "counter", d.msgRecv, "msgRecv");
  p.one("simplex_smp_messages_expired", "Expired messages.", "counter", d.msgExpired, "msgExpired");
  p.one("simplex_smp_messages_total", "Total number of messages stored.", "gauge", g.msgCount, "msgCount");

  p.o += "# Notification messages (client)\n# ------------------------------\n\n";
  p.one("simplex_smp_messages_notify_sent", "Sent messages with notification flag (cleint).", "counter",
        d.msgSentNtf, "msgSentNtf");
  p.one("simplex_smp_messages_notify_received", "Received messages with notification flag (client).", "counter",
        d.msgRecvNtf, "msgRecvNtf");
  p.one("simplex_smp_messages_notify_get_sent", "Requests to get messages with notification flag (client).",
        "counter", d.msgGet, "msgGet");
  p.one("simplex_smp_messages_notify_get_received",
        "Succesfully received get requests messages with notification flag (client).", "counter", d.msgRecvGet,
        "msgRecvGet");
  p.family("simplex_smp_messages_notify_get_errors", "Error events with messages with notification flag (client). ",
           "counter");
  p.sample("simplex_smp_messages_notify_get_errors{type=\"nomsg\"}", d.msgGetNoMsg, "msgGetNoMsg");
  p.sample("simplex_smp_messages_notify_get_errors{type=\"auth\"}", d.msgGetAuth, "msgGetAuth");
  p.sample("simplex_smp_messages_notify_get_errors{type=\"duplicate\"}", d.msgGetDuplicate, "msgGetDuplicate");
  p.sample("simplex_smp_messages_notify_get_errors{type=\"prohibited\"}", d.msgGetProhibited, "msgGetProhibited");
  p.o += '\n';
  p.one("simplex_smp_queues_notify_created", "Created queue notification credentials.", "counter", d.ntfCreated,
        "ntfCreated");
  p.one("simplex_smp_queues_notify_new_created", "Created new queues with notification credentials.", "counter",
        d.ntfNewCreated, "ntfNewCreated");
  p.one("simplex_smp_queues_notify_deleted", "Deleted queue notification credentials.", "counter", d.ntfDeleted,
        "ntfDeleted");
  p.one("simplex_smp_queues_notify_deleted_batch", "Deleted batched queue notification credentials.", "counter",
        d.ntfDeletedB, "ntfDeletedB");
  p.one("simplex_smp_queues_notify_total1",
        "Total number of stored queues with notification flag (first type of count).", "gauge", g.ntfCount,
        "ntfCount1");
  p.one("simplex_smp_queues_notify_total2",
        "Total number of stored queues with notification flag (second type of count).", "gauge", e.notifierCount,
        "ntfCount2");

  p.o += "# Notifications (server)\n# ----------------------\n\n";
  p.one("simplex_smp_messages_ntf_successes", "Successful events with notification messages (to ntf server). ",
        "counter", d.msgNtfs, "msgNtfs");
  p.one("simplex_smp_messages_ntf_successes_batch",
        "Successful batched events with notification messages (to ntf server). ", "counter", d.msgNtfsB, "msgNtfsB");
  p.family("simplex_smp_messages_ntf_errors", "Error events with notification messages (to ntf server). ",
           "counter");
  p.sample("simplex_smp_messages_ntf_errors{type=\"nosub\"}", d.msgNtfNoSub, "msgNtfNoSub");
  p.sample("simplex_smp_messages_ntf_errors{type=\"lost\"}", d.msgNtfLost, "msgNtfLost");
  p.sample("simplex_smp_messages_ntf_errors{type=\"expired\"}", d.msgNtfExpired, "msgNtfExpired");
  p.o += '\n';
  p.one("simplex_smp_subscription_ntf_requests",
        "Subscription requests with notification flag (from ntf server). ", "counter", d.ntfSub, "ntfSub");
  p.one("simplex_smp_subscription_ntf_requests_batch",
        "Batched subscription requests with notification flag (from ntf server). ", "counter", d.ntfSubB, "ntfSubB");
  p.family("simplex_smp_subscribtion_ntf_errors", "Subscription errors with notification flag (from ntf server). ",
           "counter");
  p.sample("simplex_smp_subscribtion_ntf_errors{type=\"auth\"}", d.ntfSubAuth, "ntfSubAuth");
  p.sample("simplex_smp_subscribtion_ntf_errors{type=\"duplicate\"}", d.ntfSubDuplicate, "ntfSubDuplicate");
  p.o += '\n';

  p.o += "# Relays\n# ------\n\n";
  struct Rel {
    const char* source;
    const ProxyStats* s;
    const char* name;
  };
  const Rel sessions[] = {{"all", &d.pRelays, "pRelays"}, {"own", &d.pRelaysOwn, "pRelaysOwn"}};
  const Rel msgs[] = {{"all", &d.pMsgFwds, "pMsgFwds"}, {"own", &d.pMsgFwdsOwn, "pMsgFwdsOwn"}};
  auto relay = [&](const std::string& m, const Rel (&rels)[2], const char* what_req, const char* what_ok,
                   const char* what_err) {
    p.family(m + "_requests", what_req, "counter");
    for (const Rel& r : rels)
      p.sample(m + "_requests{source=\"" + r.source + "\"}", r.s->requests, std::string(r.name) + "_pRequests");
    p.o += '\n';
    p.family(m + "_successes", what_ok, "counter");
    for (const Rel& r : rels)
      p.sample(m + "_successes{source=\"" + r.source + "\"}", r.s->successes, std::string(r.name) + "_pSuccesses");
    p.o += '\n';
    p.family(m + "_errors", what_err, "counter");
    for (const Rel& r : rels) {
      const std::string base = m + "_errors{source=\"" + r.source + "\",type=\"";
      p.sample(base + "connect\"}", r.s->errorsConnect, std::string(r.name) + "_pErrorsConnect");
      p.sample(base + "compat\"}", r.s->errorsCompat, std::string(r.name) + "_pErrorsCompat");
      p.sample(base + "other\"}", r.s->errorsOther, std::string(r.name) + "_pErrorsOther");
    }
    p.o += '\n';
  };
  relay("simplex_smp_relay_sessions", sessions, "Session requests through relay.",
        "Successful session events through relay.", "Error session events through relay.");
  relay("simplex_smp_relay_messages", msgs, "Message requests sent through relay.",
        "Successful messages sent through relay.", "Error events with messages sent through relay.");
  p.one("simplex_smp_relay_messages_received", "Relay messages statistics.", "counter", d.pMsgFwdsRecv,
        "pMsgFwdsRecv");

  p.o += "# Services\n# --------\n";
  p.one("simplex_smp_rcv_services_count", "The count of receiving services.", "gauge", e.rcvServiceCount,
        "rcvServiceCount");
  p.one("simplex_smp_rcv_services_queues_count", "The count of queues associated with receiving services.", "gauge",
        e.rcvServiceQueuesCount, "rcv.rcvServiceQueuesCount");
  p.one("simplex_smp_ntf_services_count", "The count of notification services.", "gauge", e.ntfServiceCount,
        "ntfServiceCount");
  p.one("simplex_smp_ntf_services_queues_count", "The count of queues associated with notification services.",
        "gauge", e.ntfServiceQueuesCount, "ntfServiceQueuesCount");
  services(p, d.rcvServices, "rcv", "receiving");
  services(p, d.ntfServices, "ntf", "notification");

  p.o += "# Info\n# ----\n\n";
  p.family("simplex_smp_info", "Server information. RTS options have to be passed via SMP_RTS_OPTIONS env var",
           "gauge");
  p.o += "simplex_smp_info{version=\"" SR_COMPAT_VERSION "\",rts_options=\"";
  p.o += rts_options;
  p.o += "\"} 1\n\n";
  auto sockets = [&](uint64_t SocketCounts::*sel, const char* metric, const char* descr) {
    p.family(metric, descr, "gauge");
    for (const SocketCounts& s : rt.sockets)
      p.sample(fmt::format("{}{{port=\"{}\"}}", metric, s.port), static_cast<int64_t>(s.*sel));
    p.o += '\n';
  };
  sockets(&SocketCounts::accepted, "simplex_smp_sockets_accepted", "Accepted sockets");
  sockets(&SocketCounts::closed, "simplex_smp_sockets_closed", "Closed sockets");
  sockets(&SocketCounts::active, "simplex_smp_sockets_active", "Active sockets");
  sockets(&SocketCounts::leaked, "simplex_smp_sockets_leaked", "Leaked sockets");
  p.family("simplex_smp_threads_total", "Threads", "gauge");
  p.sample("simplex_smp_threads_total", rt.threadsCount);
  p.o += '\n';
  p.family("simplex_smp_clients_total", "Clients", "gauge");
  p.sample("simplex_smp_clients_total", rt.clientsCount);
  p.o += '\n';
  p.one("simplex_smp_delivered_total", "Total SMP subscriptions with delivered messages", "gauge",
        rt.delivered.subsCount, "delivered.subsCount");
  p.one("simplex_smp_delivered_clients_total", "Subscribed clients", "gauge", rt.delivered.subClientsCount,
        "delivered.subClientsCount");
  const std::string hist = "simplex_smp_delivery_ack_confirmed_time";
  p.family(hist, "Times to confirm message delivery, only confirmed deliveries", "histogram");
  p.sample(hist + "_sum", ack.sumTime);
  p.sample(hist + "_count", d.msgRecv + d.msgRecvGet);
  time_buckets(p, hist, ack.buckets);
  bucket(p, hist, "+Inf", d.msgRecv + d.msgRecvGet);
  p.o += '\n';
  p.family("simplex_smp_delivery_ack_confirmed_count", "Counts for confirmed deliveries", "counter");
  bucket_sums(p, "simplex_smp_delivery_ack_confirmed_count", ack.buckets);
  p.o += '\n';
  p.family("simplex_smp_delivery_ack_pending_count", "Counts for pending delivery", "gauge");
  bucket_sums(p, "simplex_smp_delivery_ack_pending_count", rt.deliveredTimes.buckets);
  p.o += '\n';
  p.one("simplex_smp_delivery_ack_time_max", "Max time to confirm message delivery", "gauge", rt.deliveredTimes.maxTime,
        "delivered.maxTime");
  p.one("simplex_smp_subscribtion_total", "Total SMP subscriptions", "gauge", rt.smpSubs.subsCount, "smp.subsCount");
  p.one("simplex_smp_subscribtion_clients_total", "Subscribed clients", "gauge", rt.smpSubs.subClientsCount,
        "smp.subClientsCount");
  p.one("simplex_smp_subscribtion_services_total", "Subscribed services, first counting method", "gauge",
        rt.smpSubs.subServicesCount, "smp.subServicesCount");
  p.one("simplex_smp_subscription_ntf_total", "Total notification subscripbtions (from ntf server)", "gauge",
        rt.ntfSubs.subsCount, "ntf.subsCount");
  p.one("simplex_smp_subscription_ntf_clients_total", "Total subscribed NTF servers", "gauge",
        rt.ntfSubs.subClientsCount, "ntf.subClientsCount");
  p.one("simplex_smp_subscribtion_nts_services_total", "Subscribed NTF services, first counting method", "gauge",
        rt.ntfSubs.subServicesCount, "ntf.subServicesCount");
  p.one("simplex_smp_loaded_queues_queue_count",
        "Total loaded queues count (all queues for memory/journal storage)", "gauge", rt.loadedQueueCount,
        "loadedCounts.loadedQueueCount");
  p.one("simplex_smp_loaded_queues_ntf_count",
        "Total loaded ntf credential references (all ntf credentials for memory/journal storage)", "gauge",
        rt.loadedNotifierCount, "loadedCounts.loadedNotifierCount");
  p.one("simplex_smp_loaded_queues_open_journal_count", "Total opened queue journals (0 for memory storage)", "gauge",
        rt.openJournalCount, "loadedCounts.openJournalCount");
  p.one("simplex_smp_loaded_queues_queue_lock_count", "Total queue locks (0 for memory storage)", "gauge",
        rt.queueLockCount, "loadedCounts.queueLockCount");
  p.family("simplex_smp_loaded_queues_ntf_lock_count", "Total notifier locks (0 for memory/journal storage)", "gauge");
  p.sample("simplex_smp_loaded_queues_ntf_lock_count", rt.notifierLockCount, "loadedCounts.notifierLockCount");
  return std::move(p.o);
}

}  // namespace sr::smp
