using System;
using System.Globalization;
using Kernel.Persist.Location;
using Kernel.Runtime;

namespace Kernel.Persist.Shard;

/// <summary>A shard's id: <c>s</c> followed by 32 hex digits. It is the shard's consensus key and its blob key prefix.</summary>
public readonly record struct ShardId(string Value)
{
    public static ShardId New(IRandom random) => new("s" + FileNames.RandomId(random));

    /// <summary>False (with a reason) for anything but <c>s</c> and 32 lowercase hex digits.</summary>
    public static bool TryParse(string text, out ShardId shard, out string error)
    {
        shard = default;
        if (text.Length != 33 || text[0] != 's' || !IsLowerHex(text.AsSpan(1)))
        {
            error = $"'{text}' is not a shard id (s followed by 32 lowercase hex digits)";
            return false;
        }
        shard = new ShardId(text);
        error = "";
        return true;
    }

    public override string ToString() => Value;

    internal static bool IsLowerHex(ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>
/// Identifies one compare_and_append call across its retries: the shard remembers each writer's last token, so
/// a retry of a write that already committed (after an indeterminate error) is recognised and not applied twice.
/// </summary>
public readonly record struct IdempotencyToken(ulong High, ulong Low)
{
    public static IdempotencyToken None => default;

    public bool IsNone => High == 0 && Low == 0;

    public static IdempotencyToken New(IRandom random)
    {
        ulong high = random.NextUInt64();
        ulong low = random.NextUInt64();
        return high == 0 && low == 0 ? new IdempotencyToken(0, 1) : new IdempotencyToken(high, low);
    }

    public override string ToString() => High.ToString("x16", CultureInfo.InvariantCulture) + Low.ToString("x16", CultureInfo.InvariantCulture);
}
