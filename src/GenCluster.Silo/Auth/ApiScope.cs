namespace GenCluster.Silo.Auth;

/// <summary>What a bearer token may do on the HTTP API; a higher scope includes the lower.</summary>
public enum ApiScope
{
    /// <summary>Reading: every GET (jobs, workers, <c>/health</c>, <c>/metrics</c>).</summary>
    Read,

    /// <summary>Everything: reading, submitting and cancelling jobs, and the Orleans dashboard.</summary>
    Admin,
}

/// <summary>The access decisions: which scope a request needs, and whether a granted scope covers it.</summary>
public static class ApiAccess
{
    /// <summary>The name of <paramref name="scope"/> in token files, claims and messages.</summary>
    public static string Name(ApiScope scope) => scope == ApiScope.Admin ? "admin" : "read";

    /// <summary>Parses a scope name, exactly <c>read</c> or <c>admin</c>.</summary>
    public static bool TryParse(string? text, out ApiScope scope)
    {
        scope = text == "admin" ? ApiScope.Admin : ApiScope.Read;
        return text is "read" or "admin";
    }

    /// <summary>
    /// The scope a request with <paramref name="method"/> needs where its endpoint names none: methods that only read
    /// (GET, HEAD, OPTIONS) need <see cref="ApiScope.Read"/>, every other method <see cref="ApiScope.Admin"/>.
    /// </summary>
    public static ApiScope Required(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) ? ApiScope.Read : ApiScope.Admin;

    /// <summary>Whether a token granted <paramref name="granted"/> may do what needs <paramref name="required"/>.</summary>
    public static bool Allows(ApiScope granted, ApiScope required) => granted >= required;
}
