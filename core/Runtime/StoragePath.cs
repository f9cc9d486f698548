using System;

namespace Kernel.Runtime;

/// <summary>Checks and splits the relative, '/'-separated paths that <see cref="IDurableStorage"/> accepts.</summary>
public static class StoragePath
{
    public const int LengthMax = 1024;

    /// <summary>Null when <paramref name="path"/> is acceptable, else a reason in plain words.</summary>
    public static string? Validate(string path, bool allowRoot = false)
    {
        if (path.Length == 0)
        {
            return allowRoot ? null : "the path is empty";
        }
        if (path.Length > LengthMax)
        {
            return $"the path is longer than {LengthMax} characters";
        }
        if (path[0] == '/' || path[^1] == '/')
        {
            return $"'{path}' must be relative and not end in '/'";
        }
        foreach (string segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment == "." || segment == "..")
            {
                return $"'{path}' has an empty, '.' or '..' segment";
            }
            if (segment.AsSpan().IndexOfAny('\\', '\0') >= 0)
            {
                return $"'{path}' contains a backslash or NUL";
            }
        }
        return null;
    }

    /// <summary>The directory part ("" for the root) of a validated path.</summary>
    public static string Parent(string path)
    {
        int slash = path.LastIndexOf('/');
        return slash < 0 ? "" : path[..slash];
    }

    /// <summary>The last segment of a validated path.</summary>
    public static string Name(string path) => path[(path.LastIndexOf('/') + 1)..];

    public static string Combine(string directory, string name) => directory.Length == 0 ? name : directory + "/" + name;
}
