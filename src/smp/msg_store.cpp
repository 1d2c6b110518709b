#include "smp/msg_store.hpp"

#include <algorithm>
#include <cstring>

namespace sr::smp {

size_t IdHash::operator()(const Id& id) const noexcept {
  uint64_t h;
  std::memcpy(&h, id.data(), sizeof h);
  return static_cast<size_t>(h);
}

void MsgStore::MsgQueue::pop_front() {
  msgs[head] = Message{};  // release the body now, not at the next compaction
  ++head;
  if (head == msgs.size()) {
    msgs.clear();
    head = 0;
  } else if (head * 2 >= msgs.size()) {
    msgs.erase(msgs.begin(), msgs.begin() + head);
    head = 0;
  }
}

WriteOutcome MsgStore::write(const Id& rid, Message m) {
  auto it = queues_.find(rid);
  const bool was_empty = it == queues_.end() || it->second.empty();
  // An empty queue accepts regardless of can_write, so a missing entry and an empty one behave the same.
  if (!was_empty && !it->second.can_write) return {false, false};
  const bool can_write = was_empty || it->second.size() < quota_;
  if (!can_write) {
    Message marker;
    marker.msg_id = m.msg_id;
    marker.ts = m.ts;
    marker.quota = true;
    m = std::move(marker);
  }
  if (journal && !journal->put(rid, m)) return {false, was_empty, true};
  if (it == queues_.end()) it = queues_.emplace(rid, MsgQueue{}).first;
  it->second.can_write = can_write;
  it->second.msgs.push_back(std::move(m));
  ++total_;
  return {can_write, was_empty};
}

bool MsgStore::restore(const Id& rid, Message m) {
  MsgQueue& q = queues_[rid];
  if (!q.can_write || q.size() >= quota_ + (m.quota ? 1 : 0)) {
    if (q.empty()) queues_.erase(rid);
    return false;
  }
  if (m.quota) q.can_write = false;
  q.msgs.push_back(std::move(m));
  ++total_;
  return true;
}

void MsgStore::replay_put(const Id& rid, Message m) {
  MsgQueue& q = queues_[rid];
  q.can_write = !m.quota;
  q.msgs.push_back(std::move(m));
  ++total_;
}

void MsgStore::clear() {
  queues_.clear();
  total_ = 0;
}

std::vector<Id> MsgStore::queue_ids() const {
  std::vector<Id> ids;
  ids.reserve(queues_.size());
  for (const auto& [id, q] : queues_)
    if (!q.empty()) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

const Message* MsgStore::peek(const Id& rid) const {
  auto it = queues_.find(rid);
  if (it == queues_.end() || it->second.empty()) return nullptr;
  return &it->second.front();
}

AckOutcome MsgStore::delete_head_if(const Id& rid, ByteView msg_id) {
  auto it = queues_.find(rid);
  if (it == queues_.end() || it->second.empty()) return {};
  const Id& head_id = it->second.front().msg_id;
  if (msg_id.size() != head_id.size() || !std::equal(msg_id.begin(), msg_id.end(), head_id.begin())) return {};
  if (journal && !journal->del_head(rid, head_id)) return {false, true};
  it->second.pop_front();
  --total_;
  // Empty: the next write is accepted whatever can_write says (§6.5), so the entry carries no state.
  if (it->second.empty()) queues_.erase(it);
  return {true, false};
}

void MsgStore::delete_queue(const Id& rid) {
  auto it = queues_.find(rid);
  if (it == queues_.end()) return;
  total_ -= it->second.size();
  queues_.erase(it);
  if (journal) journal->drop_queue(rid);
}

size_t MsgStore::size(const Id& rid) const {
  auto it = queues_.find(rid);
  return it == queues_.end() ? 0 : it->second.size();
}

// Real messages older than the cutoff, from the head; the quota marker stops the scan (§6.6).
size_t MsgStore::expire_queue(MsgQueue& q, int64_t older_than) {
  size_t n = 0;
  while (!q.empty() && !q.front().quota && q.front().ts < older_than) {
    q.pop_front();
    ++n;
  }
  total_ -= n;
  return n;
}

size_t MsgStore::expire(const Id& rid, int64_t older_than) {
  auto it = queues_.find(rid);
  if (it == queues_.end()) return 0;
  const size_t n = expire_queue(it->second, older_than);
  if (it->second.empty()) queues_.erase(it);
  if (n && journal) journal->expire(&rid, older_than);
  return n;
}

size_t MsgStore::expire_all(int64_t older_than) {
  size_t total = 0;
  for (auto it = queues_.begin(); it != queues_.end();) {
    total += expire_queue(it->second, older_than);
    if (it->second.empty())
      it = queues_.erase(it);
    else
      ++it;
  }
  if (total && journal) journal->expire(nullptr, older_than);
  return total;
}

// ---- NtfStore ----

bool NtfStore::add(const Id& notifier_id, Notification n) {
  if (journal && !journal->ntf_add(notifier_id, n)) return false;
  pending_[notifier_id].push_back(std::move(n));
  ++total_;
  return true;
}

void NtfStore::clear() {
  pending_.clear();
  total_ = 0;
}

std::vector<Notification> NtfStore::take(const Id& notifier_id) {
  auto it = pending_.find(notifier_id);
  if (it == pending_.end()) return {};
  std::vector<Notification> out = std::move(it->second);
  pending_.erase(it);
  total_ -= out.size();
  if (journal) journal->ntf_drop(notifier_id);
  return out;
}

void NtfStore::erase(const Id& notifier_id) {
  auto it = pending_.find(notifier_id);
  if (it == pending_.end()) return;
  total_ -= it->second.size();
  pending_.erase(it);
  if (journal) journal->ntf_drop(notifier_id);
}

size_t NtfStore::expire(int64_t older_than) {
  // Every notification older than the cutoff goes, not only a head run (the reference filters the whole list).
  size_t n = 0;
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto& v = it->second;
    auto keep_end = std::remove_if(v.begin(), v.end(), [&](const Notification& x) { return x.ts < older_than; });
    n += static_cast<size_t>(v.end() - keep_end);
    v.erase(keep_end, v.end());
    if (v.empty())
      it = pending_.erase(it);
    else
      ++it;
  }
  total_ -= n;
  if (n && journal) journal->ntf_expire(older_than);
  return n;
}

std::vector<Id> NtfStore::ids() const {
  std::vector<Id> out;
  for (const auto& [id, v] : pending_)
    if (!v.empty()) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sr::smp
