Console.WriteLine("demo placeholder");
