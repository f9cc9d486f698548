using System;
using System.IO;
using Npgsql;

namespace Kernel.Tools.Cli;

/// <summary>A parsed Blob or Consensus location from the command line.</summary>
public abstract record PersistLocation
{
    /// <summary>How to show the location in messages (never with a password).</summary>
    public abstract string Display { get; }
}

/// <summary>
/// A directory used by <c>FileBlob</c> or <c>FileConsensus</c>. The backends take a storage root and a relative
/// directory under it, so the directory is split into its parent (<see cref="Parent"/>) and its name.
/// </summary>
public sealed record FileLocation(string Directory) : PersistLocation
{
    public string Parent => Path.GetDirectoryName(Directory)!;

    public string Name => Path.GetFileName(Directory);

    public override string Display => "file://" + Directory;
}

/// <summary>A PostgreSQL database holding the <c>consensus</c> table.</summary>
public sealed record PostgresLocation(string ConnectionString, string Redacted) : PersistLocation
{
    public override string Display => Redacted;
}

/// <summary>
/// Parses the location URIs of the <c>persist</c> commands: <c>file:///absolute/dir</c> for Blob and Consensus,
/// and <c>postgres://user[:password]@host[:port]/database[?search_path=schema]</c> (or <c>postgresql://</c>) for
/// Consensus. Every failure is one line that says what was expected.
/// </summary>
public static class PersistLocations
{
    public const int PostgresDefaultPort = 5432;

    /// <summary>
    /// Parses <paramref name="text"/>; <paramref name="what"/> names the option in messages. A file location must
    /// name an existing directory: inspecting never creates one.
    /// </summary>
    public static bool TryParse(string text, string what, bool allowPostgres, out PersistLocation? location, out string error)
    {
        location = null;
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string scheme = colon > 0 ? text[..colon].ToLowerInvariant() : "";
        if (scheme == "file")
        {
            return TryParseFile(text, what, out location, out error);
        }
        if (allowPostgres && scheme is "postgres" or "postgresql")
        {
            return TryParsePostgres(text, what, out location, out error);
        }
        string expected = allowPostgres
            ? "file:///absolute/dir or postgres://user[:password]@host:port/database"
            : "file:///absolute/dir";
        error = colon > 0
            ? $"{what} '{text}': unknown scheme '{scheme}'; expected {expected}"
            : $"{what} '{text}' is not a URI; expected {expected}";
        return false;
    }

    private static bool TryParseFile(string text, string what, out PersistLocation? location, out string error)
    {
        location = null;
        const string Prefix = "file://";
        if (!text.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) || text.Length == Prefix.Length || text[Prefix.Length] != '/')
        {
            error = $"{what} '{text}' is not an absolute file URI: write file:///absolute/dir (three slashes, no host, no relative path)";
            return false;
        }
        string path;
        try
        {
            path = Uri.UnescapeDataString(text[Prefix.Length..]);
        }
        catch (UriFormatException exception)
        {
            error = $"{what} '{text}': {exception.Message}";
            return false;
        }
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (Path.GetDirectoryName(full) is null || Path.GetFileName(full).Length == 0)
        {
            error = $"{what} '{text}': the file system root cannot be a persist location; name a directory under it";
            return false;
        }
        if (!Directory.Exists(full))
        {
            error = File.Exists(full)
                ? $"{what} '{text}': {full} is a file, not a directory"
                : $"{what} '{text}': directory {full} does not exist";
            return false;
        }
        if (Kernel.Runtime.StoragePath.Validate(Path.GetFileName(full)) is string invalid)
        {
            error = $"{what} '{text}': unusable directory name: {invalid}";
            return false;
        }
        location = new FileLocation(full);
        error = "";
        return true;
    }

    private static bool TryParsePostgres(string text, string what, out PersistLocation? location, out string error)
    {
        location = null;
        const string Shape = "postgres://user[:password]@host[:port]/database[?search_path=schema]";
        if (!Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) || uri.Host.Length == 0)
        {
            error = $"{what}: not a PostgreSQL URI; expected {Shape}";
            return false;
        }
        string database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length == 0 || database.Contains('/', StringComparison.Ordinal))
        {
            error = $"{what}: the URI names no database; expected {Shape}";
            return false;
        }
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host.Trim('[', ']'),
            Port = uri.IsDefaultPort || uri.Port < 0 ? PostgresDefaultPort : uri.Port,
            Database = database,
            // Fail fast on an unreachable server: this is an interactive tool.
            Timeout = 5,
            CommandTimeout = 30,
        };
        string user = "";
        if (uri.UserInfo.Length > 0)
        {
            int separator = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            user = Uri.UnescapeDataString(separator < 0 ? uri.UserInfo : uri.UserInfo[..separator]);
            builder.Username = user;
            if (separator >= 0)
            {
                builder.Password = Uri.UnescapeDataString(uri.UserInfo[(separator + 1)..]);
            }
        }
        string query = uri.Query.TrimStart('?');
        if (query.Length > 0)
        {
            foreach (string pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                int equals = pair.IndexOf('=', StringComparison.Ordinal);
                string name = equals < 0 ? pair : pair[..equals];
                string value = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..]);
                if (name != "search_path" || value.Length == 0)
                {
                    error = $"{what}: unsupported URI parameter '{name}'; the only one understood is search_path=schema";
                    return false;
                }
                builder.SearchPath = value;
            }
        }
        string redacted = $"{uri.Scheme}://{(user.Length > 0 ? user + "@" : "")}{uri.Host}:{builder.Port}/{database}";
        location = new PostgresLocation(builder.ConnectionString, redacted);
        error = "";
        return true;
    }
}
