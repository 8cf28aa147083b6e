using System.Buffers.Binary;
using System.Text;
using SamEngine.IO;

namespace SamEngine.Checkpoints;

/// <summary>A tensor storage named by a checkpoint's pickle: the archive entry <c>data/&lt;Key&gt;</c>.</summary>
internal sealed record StorageRef(string Key, SafeTensorDType DType, long ElementCount);

/// <summary>A tensor view of a storage, as <c>torch._utils._rebuild_tensor_v2</c> describes it.</summary>
internal sealed record TensorRef(StorageRef Storage, long Offset, int[] Shape, long[] Stride);

/// <summary>
/// A deliberately small unpickler for PyTorch state dicts. It runs no code: it knows the handful of
/// opcodes and globals that <c>torch.save(state_dict)</c> writes (dicts, tuples, strings, integers,
/// <c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor_v2</c> / <c>_rebuild_parameter</c>,
/// typed storages via persistent ids) and refuses anything else, naming the opcode or global.
/// </summary>
internal sealed class StateDictUnpickler
{
    private sealed record Global(string Module, string Name)
    {
        public override string ToString() => $"{Module}.{Name}";
    }

    private sealed class Mark;

    /// <summary>The globals a state dict needs; storage classes map to their element type.</summary>
    private static readonly Dictionary<string, SafeTensorDType?> AllowedGlobals = new()
    {
        ["collections.OrderedDict"] = null,
        ["torch._utils._rebuild_tensor_v2"] = null,
        ["torch._utils._rebuild_parameter"] = null,
        ["torch.FloatStorage"] = SafeTensorDType.F32,
        ["torch.HalfStorage"] = SafeTensorDType.F16,
        ["torch.BFloat16Storage"] = SafeTensorDType.BF16,
        ["torch.DoubleStorage"] = SafeTensorDType.F64,
        ["torch.LongStorage"] = SafeTensorDType.I64,
        ["torch.IntStorage"] = SafeTensorDType.I32,
        ["torch.ByteStorage"] = SafeTensorDType.U8,
        ["torch.CharStorage"] = SafeTensorDType.I8,
        ["torch.BoolStorage"] = SafeTensorDType.BOOL,
    };

    private readonly byte[] _data;
    private readonly string _name;
    private int _pos;
    private readonly List<object?> _stack = [];
    private readonly Dictionary<long, object?> _memo = [];

    private StateDictUnpickler(byte[] data, string name) => (_data, _name) = (data, name);

    /// <summary>Unpickles a state dict: an ordered list of (name, tensor) pairs.</summary>
    public static List<(string Name, TensorRef Tensor)> Read(byte[] pickle, string name)
    {
        var root = new StateDictUnpickler(pickle, name).Run();
        // SAM 2.x checkpoints wrap the state dict as {"model": state_dict}: that wrapper, and nothing more, is unwrapped.
        if (root is List<KeyValuePair<object?, object?>> { Count: 1 } outer && outer[0].Key is "model" && outer[0].Value is List<KeyValuePair<object?, object?>> inner)
            root = inner;
        if (root is not List<KeyValuePair<object?, object?>> dict)
            throw new CheckpointException($"'{name}': the pickle holds a {Describe(root)}, not a state dict");
        var result = new List<(string, TensorRef)>();
        foreach (var (k, v) in dict)
        {
            if (k is not string key) throw new CheckpointException($"'{name}': state dict key {Describe(k)} is not a string");
            if (v is not TensorRef t)
                throw new CheckpointException($"'{name}': state dict entry '{key}' is a {Describe(v)}, not a tensor (is this a training checkpoint? save model.state_dict())");
            result.Add((key, t));
        }
        return result;
    }

    private object? Run()
    {
        while (true)
        {
            if (_pos >= _data.Length) throw Error("the pickle ends before its STOP opcode (truncated)");
            int at = _pos;
            byte op = _data[_pos++];
            switch (op)
            {
                case 0x80: U8(); break;                                   // PROTO
                case 0x95: Bytes(8); break;                               // FRAME
                case 0x2E: return _stack.Count == 1 ? Pop() : throw Error("the pickle's stack is not a single value at STOP"); // STOP
                case 0x7D: Push(new List<KeyValuePair<object?, object?>>()); break; // EMPTY_DICT
                case 0x5D: Push(new List<object?>()); break;              // EMPTY_LIST
                case 0x29: Push(Array.Empty<object?>()); break;           // EMPTY_TUPLE
                case 0x28: Push(new Mark()); break;                       // MARK
                case 0x74: Push(PopToMark().ToArray()); break;            // TUPLE
                case 0x85: Push(new[] { Pop() }); break;                  // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                case 0x71: _memo[U8()] = Peek(); break;                   // BINPUT
                case 0x72: _memo[U32()] = Peek(); break;                  // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Peek(); break;            // MEMOIZE
                case 0x68: Push(Memo(U8())); break;                       // BINGET
                case 0x6A: Push(Memo(U32())); break;                      // LONG_BINGET
                case 0x4A: Push((long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))); break; // BININT
                case 0x4B: Push((long)U8()); break;                       // BININT1
                case 0x4D: Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2))); break; // BININT2
                case 0x8A: Push(Long1()); break;                          // LONG1
                case 0x47: Push(BinaryPrimitives.ReadDoubleBigEndian(Bytes(8))); break; // BINFLOAT
                case 0x88: Push(true); break;                             // NEWTRUE
                case 0x89: Push(false); break;                            // NEWFALSE
                case 0x4E: Push(null); break;                             // NONE
                case 0x58: Push(Utf8(U32())); break;                      // BINUNICODE
                case 0x8C: Push(Utf8(U8())); break;                       // SHORT_BINUNICODE
                case 0x63: Push(CheckGlobal(Line(), Line())); break;      // GLOBAL
                case 0x93: { var n = Pop(); var m = Pop(); Push(CheckGlobal(m as string ?? "?", n as string ?? "?")); break; } // STACK_GLOBAL
                case 0x52: { var args = Pop(); var f = Pop(); Push(Call(f, args)); break; } // REDUCE
                case 0x51: Push(PersistentLoad(Pop())); break;            // BINPERSID
                case 0x62: Build(Pop(), Peek()); break;                   // BUILD
                case 0x73: { var v = Pop(); var k = Pop(); AsDict(Peek()).Add(new(k, v)); break; } // SETITEM
                case 0x75: { var items = PopToMark(); var d = AsDict(Peek()); for (int i = 0; i + 1 < items.Count; i += 2) d.Add(new(items[i], items[i + 1])); break; } // SETITEMS
                case 0x61: { var v = Pop(); AsList(Peek()).Add(v); break; } // APPEND
                case 0x65: { var items = PopToMark(); AsList(Peek()).AddRange(items); break; } // APPENDS
                default:
                    throw Error($"unsupported pickle opcode 0x{op:X2} ('{(char)op}') at byte {at}; a state dict of tensors does not need it");
            }
        }
    }

    private Global CheckGlobal(string module, string name)
    {
        var g = new Global(module, name);
        if (!AllowedGlobals.ContainsKey(g.ToString()))
            throw Error($"the pickle refers to the global '{g}', which a state dict does not need; refusing to load it");
        return g;
    }

    private object Call(object? f, object? args)
    {
        if (f is not Global g) throw Error($"REDUCE on a {Describe(f)}, which is not callable here");
        var a = args as object?[] ?? throw Error($"REDUCE of {g} without an argument tuple");
        switch (g.ToString())
        {
            case "collections.OrderedDict":
                if (a.Length != 0) throw Error("collections.OrderedDict called with arguments");
                return new List<KeyValuePair<object?, object?>>();
            case "torch._utils._rebuild_tensor_v2":
                if (a.Length < 4 || a[0] is not StorageRef s || a[1] is not long offset || a[2] is not object?[] size || a[3] is not object?[] stride)
                    throw Error("torch._utils._rebuild_tensor_v2 called with unexpected arguments");
                var shape = size.Select(d => d is long l and >= 0 and <= int.MaxValue ? (int)l : throw Error("a tensor size is not a non-negative integer")).ToArray();
                var strides = stride.Select(d => d is long l and >= 0 ? l : throw Error("a tensor stride is not a non-negative integer")).ToArray();
                if (strides.Length != shape.Length) throw Error("a tensor's size and stride differ in length");
                return new TensorRef(s, offset, shape, strides);
            case "torch._utils._rebuild_parameter":
                return a.Length >= 1 && a[0] is TensorRef t ? t : throw Error("torch._utils._rebuild_parameter called without a tensor");
            default:
                throw Error($"the global '{g}' cannot be called");
        }
    }

    /// <summary>torch.save's persistent id: ('storage', StorageClass, key, location, numel).</summary>
    private StorageRef PersistentLoad(object? pid)
    {
        if (pid is not object?[] { Length: 5 } t || t[0] is not "storage" || t[1] is not Global g || t[2] is not string key || t[4] is not long numel)
            throw Error($"unsupported persistent id {Describe(pid)} (expected a torch storage)");
        var dtype = AllowedGlobals[g.ToString()] ?? throw Error($"'{g}' is not a storage class");
        return new StorageRef(key, dtype, numel);
    }

    /// <summary>BUILD sets an object's state; only the <c>_metadata</c> a state dict carries is accepted (and ignored).</summary>
    private void Build(object? state, object? target)
    {
        if (target is not List<KeyValuePair<object?, object?>>) throw Error($"BUILD on a {Describe(target)} is not supported");
        if (state is not (List<KeyValuePair<object?, object?>> or object?[] or null)) throw Error($"BUILD with a {Describe(state)} state is not supported");
    }

    private void Push(object? o) => _stack.Add(o);

    private object? Peek() => _stack.Count > 0 ? _stack[^1] : throw Error("the pickle pops an empty stack");

    private object? Pop()
    {
        var o = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        if (o is Mark) throw Error("the pickle pops a MARK as a value");
        return o;
    }

    private List<object?> PopToMark()
    {
        int m = _stack.FindLastIndex(o => o is Mark);
        if (m < 0) throw Error("the pickle has no MARK where one is needed");
        var items = _stack.GetRange(m + 1, _stack.Count - m - 1);
        _stack.RemoveRange(m, _stack.Count - m);
        return items;
    }

    private object? Memo(long key) => _memo.TryGetValue(key, out var v) ? v : throw Error($"the pickle reads memo {key} before writing it");

    private List<KeyValuePair<object?, object?>> AsDict(object? o) => o as List<KeyValuePair<object?, object?>> ?? throw Error($"SETITEM on a {Describe(o)}");

    private List<object?> AsList(object? o) => o as List<object?> ?? throw Error($"APPEND on a {Describe(o)}");

    private ReadOnlySpan<byte> Bytes(long n)
    {
        if (n < 0 || _pos + n > _data.Length) throw Error("the pickle ends inside an opcode's argument (truncated)");
        var s = _data.AsSpan(_pos, (int)n);
        _pos += (int)n;
        return s;
    }

    private byte U8() => Bytes(1)[0];

    private long U32() => BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4));

    private string Utf8(long n) => Encoding.UTF8.GetString(Bytes(n));

    private long Long1()
    {
        var b = Bytes(U8());
        if (b.Length > 8) throw Error("an integer in the pickle is longer than 64 bits");
        long v = 0;
        for (int i = b.Length - 1; i >= 0; i--) v = (v << 8) | b[i];
        if (b.Length is > 0 and < 8 && (b[^1] & 0x80) != 0) v -= 1L << (8 * b.Length); // two's complement sign
        return v;
    }

    private string Line()
    {
        int end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0) throw Error("the pickle ends inside a GLOBAL name (truncated)");
        var s = Encoding.ASCII.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return s;
    }

    private CheckpointException Error(string what) => new($"'{_name}': {what}");

    private static string Describe(object? o) => o switch
    {
        null => "None",
        string s => $"string '{s}'",
        long l => $"integer {l}",
        object?[] t => $"tuple of {t.Length}",
        List<object?> => "list",
        List<KeyValuePair<object?, object?>> => "dict",
        _ => o.GetType().Name,
    };
}
