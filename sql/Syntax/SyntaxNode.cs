using System;
using System.Text;

namespace Kernel.Sql.Syntax;

/// <summary>
/// Base of every syntax tree record. Trees are immutable and compare by value (lists included,
/// through <see cref="NodeList{T}"/>); the <see cref="Location"/> annotation never takes part in equality.
/// </summary>
public abstract record SyntaxNode
{
    /// <summary>Where the node's text starts; set by the parser on expressions, names, table references and statements.</summary>
    public SourceLocation Location { get; init; }

    // Keep the location out of the generated ToString so that structural dumps stay readable.
    protected virtual bool PrintMembers(StringBuilder builder) => false;
}

/// <summary>A possibly qualified name of a table, view, index, function or type: <c>a</c>, <c>s.a</c>, <c>db.s.a</c>.</summary>
/// <param name="Parts">The name's parts, already case-folded (unquoted parts lower-cased), outermost first.</param>
public sealed record ObjectName(NodeList<string> Parts) : SyntaxNode
{
    /// <summary>The last part: the object's own name without its schema or database.</summary>
    public string Name => Parts[^1];

    public static ObjectName Of(params ReadOnlySpan<string> parts) => new(NodeList.Create(parts));
}
