using System;
using System.Globalization;
using System.Text;

namespace Kernel.Persist.Location;

/// <summary>
/// Maps Blob and Consensus keys to single file names and back. Letters, digits, '_' and '-' stay; every other
/// UTF-8 byte becomes %XX. An encoded name therefore never contains '.', which the file backends reserve for
/// their own temporary and bookkeeping files.
/// </summary>
public static class FileNames
{
    public static string Encode(string key)
    {
        var builder = new StringBuilder(key.Length);
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(key);
        foreach (byte b in bytes)
        {
            if (b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9') or (byte)'_' or (byte)'-')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        return builder.ToString();
    }

    /// <summary>The key a name encodes, or null when the name is not an encoded key (a temporary file, say).</summary>
    public static string? Decode(string name)
    {
        if (name.Length == 0 || name.Contains('.', StringComparison.Ordinal))
        {
            return null;
        }
        var bytes = new byte[name.Length];
        int count = 0;
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (c == '%')
            {
                if (i + 2 >= name.Length || !byte.TryParse(name.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
                {
                    return null;
                }
                bytes[count++] = b;
                i += 2;
            }
            else if (c > 127)
            {
                return null;
            }
            else
            {
                bytes[count++] = (byte)c;
            }
        }
        return System.Text.Encoding.UTF8.GetString(bytes, 0, count);
    }

    /// <summary>A random 128-bit id as 32 lowercase hex digits, for temporary and attempt file names.</summary>
    public static string RandomId(Kernel.Runtime.IRandom random)
    {
        Span<byte> bytes = stackalloc byte[16];
        random.NextBytes(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
