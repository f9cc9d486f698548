namespace Kernel.Sql;

/// <summary>The PostgreSQL error codes (SQLSTATE) the SQL front end reports.</summary>
public static class SqlState
{
    /// <summary>42601 syntax_error.</summary>
    public const string SyntaxError = "42601";

    /// <summary>0A000 feature_not_supported: valid PostgreSQL that Kernel does not implement yet.</summary>
    public const string FeatureNotSupported = "0A000";

    /// <summary>54001 statement_too_complex: nesting beyond the parser's depth limit.</summary>
    public const string StatementTooComplex = "54001";

    /// <summary>22025 invalid_escape_sequence.</summary>
    public const string InvalidEscapeSequence = "22025";

    /// <summary>22021 character_not_in_repertoire: bytes that are not valid UTF-8.</summary>
    public const string CharacterNotInRepertoire = "22021";

    /// <summary>22023 invalid_parameter_value.</summary>
    public const string InvalidParameterValue = "22023";
}
