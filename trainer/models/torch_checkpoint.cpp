#include "trainer/models/torch_checkpoint.h"

#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>

#include <ATen/ops/empty.h>
#include <caffe2/serialize/inline_container.h>

#include "trainer/core/error.h"

namespace sgm::models {
namespace {

// The Python values a torch.save pickle builds.
struct Py;
// Owned by the unpickler's arena: no reference cycles, no deep chains of destructors.
using PyPtr = Py*;
struct Py {
  enum Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kTuple,
    kList,
    kDict,
    kGlobal,
    kStorage,
    kTensor,
    kDtype,  // numpy.dtype: s holds its descriptor ("f8")
    kMark
  } kind = kNone;
  std::int64_t i = 0;
  double f = 0;
  std::string s;                                 // string, global "module name", storage key
  std::vector<PyPtr> items;                      // tuple, list
  std::vector<std::pair<PyPtr, PyPtr>> entries;  // dict
  at::ScalarType dtype = at::kFloat;             // storage
  at::Tensor tensor;
};

at::ScalarType storage_dtype(const std::string& global) {
  if (global == "torch FloatStorage") return at::kFloat;
  if (global == "torch DoubleStorage") return at::kDouble;
  if (global == "torch LongStorage") return at::kLong;
  if (global == "torch IntStorage") return at::kInt;
  if (global == "torch HalfStorage") return at::kHalf;
  if (global == "torch BFloat16Storage") return at::kBFloat16;
  if (global == "torch ByteStorage") return at::kByte;
  if (global == "torch BoolStorage") return at::kBool;
  throw core::UsageError("unsupported storage type " + core::printable(global));
}

class Unpickler {
 public:
  Unpickler(const std::string& path, const PickleStorages& storages, const char* data,
            std::size_t size)
      : path_(path), storages_(storages), p_(data), end_(data + size) {}

  PyPtr run() {
    while (true) {
      const auto op = static_cast<unsigned char>(byte());
      switch (op) {
        case 0x80:
          byte();
          break;  // PROTO
        case '}':
          push(make(Py::kDict));
          break;
        case ']':
          push(make(Py::kList));
          break;
        case ')':
          push(make(Py::kTuple));
          break;
        case '(':
          push(make(Py::kMark));
          break;
        case 'N':
          push(make(Py::kNone));
          break;
        case 0x88:
        case 0x89: {
          auto b = make(Py::kBool);
          b->i = op == 0x88;
          push(b);
          break;
        }
        case 'K':
          push_int(static_cast<unsigned char>(byte()));
          break;
        case 'M':
          push_int(uint(2));
          break;
        case 'J':
          push_int(static_cast<std::int32_t>(uint(4)));
          break;
        case 0x8a:
          push_int(long1());
          break;
        case 'G':
          push_float();
          break;
        case 'X':
          push_string(uint(4));
          break;
        case 0x8c:
          push_string(static_cast<unsigned char>(byte()));
          break;
        case 'c': {  // GLOBAL "module\nname\n"
          auto g = make(Py::kGlobal);
          const std::string module = line();
          g->s = module + " " + line();
          push(g);
          break;
        }
        case 'q':
          memo_[static_cast<unsigned char>(byte())] = top();
          break;
        case 'r':
          memo_[uint(4)] = top();
          break;
        case 'h':
          push(memo(static_cast<unsigned char>(byte())));
          break;
        case 'j':
          push(memo(uint(4)));
          break;
        case 't': {
          auto t = make(Py::kTuple);
          t->items = pop_to_mark();
          push(t);
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {
          auto t = make(Py::kTuple);
          t->items.resize(op - 0x84);
          for (auto it = t->items.rbegin(); it != t->items.rend(); ++it) *it = pop();
          push(t);
          break;
        }
        case 'Q':
          push(persistent_load(pop()));
          break;
        case 'R': {
          PyPtr args = pop();
          PyPtr callable = pop();
          push(reduce(callable, args));
          break;
        }
        case 'b':
          pop();
          break;  // BUILD: object state (the state_dict's _metadata) is not needed
        case 's': {
          PyPtr v = pop();
          PyPtr k = pop();
          top()->entries.emplace_back(k, v);
          break;
        }
        case 'u': {
          std::vector<PyPtr> kv = pop_to_mark();
          for (std::size_t i = 0; i + 1 < kv.size(); i += 2)
            top()->entries.emplace_back(kv[i], kv[i + 1]);
          break;
        }
        case 'a': {
          PyPtr v = pop();
          top()->items.push_back(v);
          break;
        }
        case 'e': {
          std::vector<PyPtr> vs = pop_to_mark();
          auto& l = top()->items;
          l.insert(l.end(), vs.begin(), vs.end());
          break;
        }
        case '.':
          return pop();
        default:
          fail(fmt::format("unsupported pickle opcode 0x{:02x}", op));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw core::UsageError(path_ + ": " + what);
  }
  PyPtr make(Py::Kind kind) {
    arena_.push_back(std::make_unique<Py>());
    arena_.back()->kind = kind;
    return arena_.back().get();
  }
  char byte() {
    if (p_ >= end_) fail("truncated pickle");
    return *p_++;
  }
  std::uint32_t uint(int n) {
    std::uint32_t v = 0;
    for (int k = 0; k < n; ++k)
      v |= static_cast<std::uint32_t>(static_cast<unsigned char>(byte())) << (8 * k);
    return v;
  }
  std::int64_t long1() {
    const int n = static_cast<unsigned char>(byte());
    if (n > 8) fail("pickle LONG1 of " + std::to_string(n) + " bytes (more than 64 bits)");
    std::uint64_t v = 0;
    for (int k = 0; k < n; ++k)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(byte())) << (8 * k);
    if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~std::uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<std::int64_t>(v);
  }
  std::string line() {
    std::string s;
    for (char c = byte(); c != '\n'; c = byte()) s += c;
    return s;
  }
  void push(PyPtr v) { stack_.push_back(std::move(v)); }
  PyPtr top() {
    if (stack_.empty()) fail("pickle stack underflow");
    return stack_.back();
  }
  PyPtr pop() {
    PyPtr v = top();
    stack_.pop_back();
    return v;
  }
  PyPtr memo(std::uint32_t i) {
    auto it = memo_.find(i);
    if (it == memo_.end()) fail("pickle memo entry missing");
    return it->second;
  }
  std::vector<PyPtr> pop_to_mark() {
    std::size_t mark = stack_.size();
    while (mark > 0 && stack_[mark - 1]->kind != Py::kMark) --mark;
    if (mark == 0) fail("pickle MARK missing");
    std::vector<PyPtr> out(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark - 1);
    return out;
  }
  void push_int(std::int64_t v) {
    auto p = make(Py::kInt);
    p->i = v;
    push(p);
  }
  void push_float() {
    std::uint64_t bits = 0;
    for (int k = 0; k < 8; ++k)
      bits = (bits << 8) | static_cast<unsigned char>(byte());  // big-endian
    auto p = make(Py::kFloat);
    std::memcpy(&p->f, &bits, sizeof(bits));
    push(p);
  }
  void push_string(std::uint32_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) fail("truncated pickle string");
    auto p = make(Py::kString);
    p->s.assign(p_, n);
    p_ += n;
    push(p);
  }
  // ('storage', <storage type>, key, location, numel)
  PyPtr persistent_load(const PyPtr& pid) {
    if (pid->kind != Py::kTuple || pid->items.size() < 5 || pid->items[0]->s != "storage" ||
        pid->items[1]->kind != Py::kGlobal || pid->items[2]->kind != Py::kString ||
        pid->items[4]->kind != Py::kInt)
      fail("unexpected persistent id");
    auto s = make(Py::kStorage);
    try {
      s->dtype = storage_dtype(pid->items[1]->s);
    } catch (const core::UsageError& e) {
      fail(e.what());
    }
    s->s = pid->items[2]->s;
    s->i = pid->items[4]->i;
    return s;
  }
  PyPtr reduce(const PyPtr& callable, const PyPtr& args) {
    if (callable->kind != Py::kGlobal) fail("REDUCE of a non-global");
    if (callable->s == "collections OrderedDict") return make(Py::kDict);
    if (callable->s == "torch._utils _rebuild_tensor_v2") return rebuild_tensor(args->items);
    // NumPy scalars (score_sde's learning rate is lr * np.minimum(...)): scalar(dtype, bytes),
    // the bytes given as _codecs.encode(text, 'latin1') under protocol 2.
    if (callable->s == "numpy dtype") {
      if (args->items.empty() || args->items[0]->kind != Py::kString)
        fail("unexpected numpy dtype");
      auto d = make(Py::kDtype);
      d->s = args->items[0]->s;
      return d;
    }
    if (callable->s == "_codecs encode") return latin1_bytes(args->items);
    if (callable->s == "numpy.core.multiarray scalar" ||
        callable->s == "numpy._core.multiarray scalar")
      return numpy_scalar(args->items);
    fail("unsupported pickled callable " + core::printable(callable->s));
  }
  // The UTF-8 text's code points (each below 256) as bytes.
  PyPtr latin1_bytes(const std::vector<PyPtr>& a) {
    if (a.size() != 2 || a[0]->kind != Py::kString || a[1]->kind != Py::kString ||
        a[1]->s != "latin1")
      fail("unexpected _codecs.encode arguments");
    auto out = make(Py::kString);
    const std::string& text = a[0]->s;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c < 0x80) {
        out->s += static_cast<char>(c);
      } else if ((c & 0xE0) == 0xC0 && i + 1 < text.size()) {
        out->s +=
            static_cast<char>(((c & 0x1F) << 6) | (static_cast<unsigned char>(text[++i]) & 0x3F));
      } else {
        fail("_codecs.encode: a character outside latin-1");
      }
    }
    return out;
  }
  PyPtr numpy_scalar(const std::vector<PyPtr>& a) {
    if (a.size() != 2 || a[0]->kind != Py::kDtype || a[1]->kind != Py::kString)
      fail("unexpected numpy scalar arguments");
    const std::string& descr = a[0]->s;
    const std::string& raw = a[1]->s;
    const auto read = [&](auto value) {
      if (raw.size() != sizeof(value))
        fail("numpy scalar of dtype " + core::printable(descr) + " has " +
             std::to_string(raw.size()) + " bytes");
      std::memcpy(&value, raw.data(), sizeof(value));
      return value;
    };
    auto out = make(Py::kFloat);
    if (descr == "f8") {
      out->f = read(double{});
    } else if (descr == "f4") {
      out->f = read(float{});
    } else if (descr == "i8" || descr == "i4" || descr == "b1") {
      out->kind = descr == "b1" ? Py::kBool : Py::kInt;
      out->i = descr == "i8"   ? read(std::int64_t{})
               : descr == "i4" ? read(std::int32_t{})
                               : read(std::uint8_t{});
    } else {
      fail("unsupported numpy scalar dtype " + core::printable(descr));
    }
    return out;
  }
  // (storage, offset, size, stride, requires_grad, backward_hooks). The storage's record must
  // hold exactly its stated elements, and the view must lie inside it and be no larger, all
  // checked before anything is allocated.
  PyPtr rebuild_tensor(const std::vector<PyPtr>& a) {
    if (a.size() < 4 || a[0]->kind != Py::kStorage || a[1]->kind != Py::kInt ||
        a[2]->kind != Py::kTuple || a[3]->kind != Py::kTuple ||
        a[2]->items.size() != a[3]->items.size() || a[2]->items.size() > 16)
      fail("unexpected _rebuild_tensor_v2 arguments");
    const Py& storage = *a[0];
    const std::size_t element = c10::elementSize(storage.dtype);
    std::size_t stated = 0;
    if (storage.i < 0 ||
        __builtin_mul_overflow(static_cast<std::size_t>(storage.i), element, &stated))
      fail(fmt::format("storage data/{} of {} elements", core::printable(storage.s), storage.i));
    const std::size_t bytes = storages_.size("data/" + storage.s, stated);
    if (bytes % element != 0 || static_cast<std::uint64_t>(storage.i) != bytes / element)
      fail(fmt::format("storage data/{} has {} bytes, expected {} elements of {} bytes",
                       core::printable(storage.s),
                       bytes, storage.i, element));
    std::vector<std::int64_t> sizes, strides;
    std::uint64_t numel = 1, last = 0;  // last: the highest element the view reaches
    for (std::size_t d = 0; d < a[2]->items.size(); ++d) {
      const Py* size = a[2]->items[d];
      const Py* stride = a[3]->items[d];
      if (size->kind != Py::kInt || stride->kind != Py::kInt || size->i < 0 || stride->i < 0)
        fail("tensor view with a negative size or stride");
      sizes.push_back(size->i);
      strides.push_back(stride->i);
      std::uint64_t reach = 0;
      if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(size->i), &numel) ||
          (size->i > 0 &&
           (__builtin_mul_overflow(static_cast<std::uint64_t>(size->i - 1),
                                   static_cast<std::uint64_t>(stride->i), &reach) ||
            __builtin_add_overflow(last, reach, &last))))
        fail("tensor view larger than its storage");
    }
    const std::int64_t offset = a[1]->i;
    if (numel > 0 && (offset < 0 || offset > storage.i || numel > bytes / element ||
                      last >= static_cast<std::uint64_t>(storage.i - offset)))
      fail(fmt::format("tensor view (offset {}, {} elements) outside its storage data/{} of {}",
                       offset, numel, core::printable(storage.s), storage.i));
    at::Tensor flat = at::empty({storage.i}, at::TensorOptions().dtype(storage.dtype));
    if (bytes > 0) storages_.read("data/" + storage.s, flat.data_ptr(), bytes);
    auto t = make(Py::kTensor);
    t->tensor = numel == 0 ? at::empty(sizes, flat.options())
                           : flat.as_strided(sizes, strides, offset).clone();
    return t;
  }

  std::string path_;
  const PickleStorages& storages_;
  const char* p_;
  const char* end_;
  std::vector<std::unique_ptr<Py>> arena_;
  std::vector<PyPtr> stack_;
  std::map<std::uint32_t, PyPtr> memo_;
};

const Py* find(const Py& dict, const std::string& key) {
  for (const auto& [k, v] : dict.entries) {
    if (k->kind == Py::kString && k->s == key) return v;
  }
  return nullptr;
}

// A count stored as an int, a float or a one-element tensor; `what` names it in errors.
std::int64_t integer(const Py& v, const std::string& what) {
  double f = v.f;
  if (v.kind == Py::kInt || v.kind == Py::kBool) return v.i;
  if (v.kind == Py::kTensor && v.tensor.numel() == 1) f = v.tensor.item<double>();
  else if (v.kind != Py::kFloat) throw core::UsageError(what + " is not a number");
  if (!(f >= -9.0e18 && f <= 9.0e18)) throw core::UsageError(what + " is out of range");
  return static_cast<std::int64_t>(f);
}

// optimizer.state_dict(): {'state': {index: {'step', 'exp_avg', 'exp_avg_sq'}},
// 'param_groups': [{..., 'params': [indices]}]}.
void read_adam(const std::string& path, const Py& optimizer, ReferenceCheckpoint& out) {
  const auto bad = [&](const std::string& what) {
    throw core::UsageError(path + ": optimizer." + what + " is not torch.optim.Adam's");
  };
  const Py* state = find(optimizer, "state");
  const Py* groups = find(optimizer, "param_groups");
  if (optimizer.kind != Py::kDict || state == nullptr || state->kind != Py::kDict ||
      groups == nullptr || groups->kind != Py::kList)
    bad("state_dict");
  for (const auto& group : groups->items) {
    const Py* params = group->kind == Py::kDict ? find(*group, "params") : nullptr;
    if (params == nullptr || params->kind != Py::kList) bad("param_groups");
    out.adam_parameters += static_cast<std::int64_t>(params->items.size());
  }
  for (const auto& [index, entry] : state->entries) {
    const Py* m = entry->kind == Py::kDict ? find(*entry, "exp_avg") : nullptr;
    const Py* v = entry->kind == Py::kDict ? find(*entry, "exp_avg_sq") : nullptr;
    const Py* steps = entry->kind == Py::kDict ? find(*entry, "step") : nullptr;
    if (index->kind != Py::kInt || m == nullptr || m->kind != Py::kTensor || v == nullptr ||
        v->kind != Py::kTensor || steps == nullptr)
      bad("state");
    out.adam[index->i] =
        AdamMoments{m->tensor, v->tensor, integer(*steps, path + ": optimizer.state.step")};
  }
}

}  // namespace

ReferenceCheckpoint parse_reference_pickle(const char* pickle, std::size_t size,
                                           const PickleStorages& storages,
                                           const std::string& path) {
  Unpickler unpickler(path, storages, pickle, size);
  const Py* root = unpickler.run();
  auto need = [&](const Py* v, const char* what, Py::Kind kind) {
    if (v == nullptr || v->kind != kind)
      throw core::UsageError(path + ": no '" + what +
                             "' of the expected kind (score_sde checkpoint layout)");
    return v;
  };
  ReferenceCheckpoint out;
  const Py* model = need(find(*root, "model"), "model", Py::kDict);
  for (const auto& [k, v] : model->entries) {
    if (v->kind == Py::kTensor) out.model[k->s] = v->tensor;
  }
  const Py* ema = need(find(*root, "ema"), "ema", Py::kDict);
  for (const auto& t : need(find(*ema, "shadow_params"), "ema.shadow_params", Py::kList)->items) {
    if (t->kind != Py::kTensor)
      throw core::UsageError(path + ": ema.shadow_params holds a non-tensor");
    out.ema_shadow.push_back(t->tensor);
  }
  if (const Py* d = find(*ema, "decay"))
    out.ema_decay = d->kind == Py::kFloat ? d->f : static_cast<double>(d->i);
  if (const Py* n = find(*ema, "num_updates")) out.ema_num_updates = n->i;
  out.step = need(find(*root, "step"), "step", Py::kInt)->i;
  if (const Py* optimizer = find(*root, "optimizer")) read_adam(path, *optimizer, out);
  return out;
}

namespace {

// The checkpoint in LibTorch's zip reader; `length`: the archive's size, which no record of a
// torch.save file (stored, not compressed) can exceed. The reader's own errors (a corrupt
// archive, a bad checksum, a missing record) become core::UsageError naming the file.
ReferenceCheckpoint read_from(caffe2::serialize::PyTorchStreamReader& reader, std::size_t length,
                              const std::string& path) {
  const auto record_size = [&](const std::string& name, std::size_t /*stated*/) -> std::size_t {
    std::size_t bytes = 0;
    try {
      if (!reader.hasRecord(name))
        throw core::UsageError(path + ": no record " + core::printable(name));
      bytes = reader.getRecordSize(name);
    } catch (const c10::Error& e) {
      throw core::UsageError(path + ": record " + core::printable(name) + ": " +
                             core::printable(e.what_without_backtrace(), 200));
    }
    if (bytes > length)
      throw core::UsageError(path + ": record " + core::printable(name) + " states " +
                             std::to_string(bytes) + " bytes, more than the file's " +
                             std::to_string(length));
    return bytes;
  };
  const auto read_record = [&](const std::string& name, void* dst, std::size_t bytes) {
    try {
      if (reader.getRecord(name, dst, bytes) != bytes)
        throw core::UsageError(path + ": record " + core::printable(name) + " is short");
    } catch (const c10::Error& e) {
      throw core::UsageError(path + ": record " + core::printable(name) + ": " +
                             core::printable(e.what_without_backtrace(), 200));
    }
  };
  std::string pickle(record_size("data.pkl", 0), '\0');
  read_record("data.pkl", pickle.data(), pickle.size());
  return parse_reference_pickle(pickle.data(), pickle.size(), {record_size, read_record}, path);
}

}  // namespace

ReferenceCheckpoint read_reference_checkpoint(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw core::UsageError("no such file: " + path);
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const std::exception&) {
    throw core::UsageError(path + " is not a torch.save zip checkpoint");
  }
  return read_from(*reader, std::filesystem::file_size(path), path);
}

ReferenceCheckpoint parse_reference_checkpoint(const std::string& bytes, const std::string& path) {
  std::istringstream in(bytes);
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(&in);
  } catch (const std::exception&) {
    throw core::UsageError(path + " is not a torch.save zip checkpoint");
  }
  return read_from(*reader, bytes.size(), path);
}

}  // namespace sgm::models
